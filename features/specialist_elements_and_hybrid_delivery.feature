Feature: Specialist elements and hybrid delivery
  A service can be split into parts. Some parts need skills the council
  cannot sensibly employ staff for; the policy gives lift maintenance and
  repair as its example. When some, but not all, parts of a service are like
  that, the council takes a hybrid approach: it brings the ordinary parts
  in-house and has community or commercial partners deliver the specialist
  ones (Relationship to existing council policy). When every part is
  specialist there is nothing to bring in-house and the service is bought in.
  A finding that insourcing is not appropriate comes before a hybrid.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: Cleaning comes in-house while lift maintenance stays external
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name             | specialist |
      | cleaning         | no         |
      | lift maintenance | yes        |
    When the rules are applied
    Then the outcome is hybrid
    And the priority is standard
    And there are no reasons
    And no facts are needed
    And the outcome is decided by the rule hybrid_for_specialist_elements
    And the deciding rule cites the section "Relationship to existing council policy"
    And the element outcomes are:
      | name             | outcome  |
      | cleaning         | in_house |
      | lift maintenance | external |
    And the rule insource_by_default is overridden by hybrid_for_specialist_elements
    And the rule part_follows_service is overridden
    And the explanation says "lift maintenance: external"

  Scenario: In a hybrid service being phased in, the ordinary parts are phased in
    Given the service in "all-clear.yaml", except:
      | fact           | value |
      | has_capability | no    |
    And the service is called "School catering"
    And the service has these elements:
      | name                   | specialist |
      | Kitchen staff          | no         |
      | Serving and clearing   | no         |
      | Refrigeration servicing| yes        |
    When the rules are applied
    Then the outcome is hybrid
    And the priority is standard
    And the element outcomes are:
      | name                    | outcome         |
      | Kitchen staff           | in_house_phased |
      | Serving and clearing    | in_house_phased |
      | Refrigeration servicing | external        |

  Scenario: A hybrid service with a strong-benefit reason is a high priority
    Given the service in "all-clear.yaml", except:
      | fact             | value |
      | quality_concerns | yes   |
      | build_capacity   | yes   |
    And the service has these elements:
      | name                  | specialist |
      | Reception             | no         |
      | Fire alarm servicing  | yes        |
    When the rules are applied
    Then the outcome is hybrid
    And the priority is high
    And the reasons are quality_concerns and build_capacity

  Scenario: When every part is specialist nothing is brought in-house
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name              | specialist |
      | Lift maintenance  | yes        |
      | Lift repair       | yes        |
    When the rules are applied
    Then the outcome is procure
    And the rule hybrid_for_specialist_elements does not apply
    And the outcome is decided by the rule procure_when_not_appropriate
    And the explanation says "not_appropriate_to_insource = yes"

  Scenario Outline: A finding that insourcing is not appropriate comes before a hybrid
    Given the service in "all-clear.yaml", except:
      | fact     | value   |
      | <ground> | <value> |
    And the service has these elements:
      | name             | specialist |
      | Cleaning         | no         |
      | Lift maintenance | yes        |
    When the rules are applied
    Then the outcome is procure
    And the priority is not_applicable
    And the outcome is decided by the rule procure_when_not_appropriate
    And the rule hybrid_for_specialist_elements is overridden by procure_when_not_appropriate
    And the element outcomes are:
      | name             | outcome |
      | Cleaning         | procure |
      | Lift maintenance | procure |

    Examples:
      | ground               | value      |
      | safeguarding_concern | yes        |
      | in_house_annual_cost | £1,500,000 |

  Scenario: A service with no specialist part is not hybrid
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name      | specialist |
      | Cleaning  | no         |
      | Security  | no         |
    When the rules are applied
    Then the outcome is in_house
    And the rule hybrid_for_specialist_elements does not apply
    And the rule specialist_part_external does not apply

  Scenario: A service given no elements is delivered as a whole
    Given the service in "all-clear.yaml"
    And the service has no elements
    When the rules are applied
    Then the outcome is in_house
    And the element outcomes are:
      | name | outcome |
