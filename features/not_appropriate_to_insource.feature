Feature: When insourcing is not appropriate
  Insourcing is the default only where it is affordable, safe and
  sustainable. The council first asks whether it can pay for in-house delivery
  within the budget it can commit: affordability is the first commissioning
  criterion (Principles). The policy then lists other grounds on which the
  council may judge insourcing not appropriate: a safeguarding concern, a risk
  it will not take on, delivery that would not be environmentally sustainable,
  or an assessment that another provider is better placed to get the best
  outcomes for residents. A service made up only of specialist parts cannot be
  brought in-house either (Relationship to existing council policy). In all
  these cases the council buys the service instead, under its Procurement
  Strategy, and the service is not ranked in the insourcing programme.

  Background:
    Given the policy in "rules/haringey"

  Scenario Outline: Each ground for not insourcing leads to procurement
    Given the service in "all-clear.yaml", except:
      | fact   | value   |
      | <fact> | <value> |
    When the rules are applied
    Then the outcome is procure
    And the priority is not_applicable
    And there are no reasons
    And no facts are needed
    And the outcome is decided by the rule procure_when_not_appropriate
    And the deciding rule cites the section "Relationship to existing council policy"
    And the rule insource_by_default is overridden by hybrid_for_specialist_elements
    And the explanation says "not_appropriate_to_insource = yes"

    Examples: Affordability
      | fact                 | value      |
      | in_house_annual_cost | £1,250,000 |
      | budget_available     | £900,000   |

    Examples: The other grounds in the policy
      | fact                         | value |
      | safeguarding_concern         | yes   |
      | delivery_risk                | yes   |
      | environmentally_sustainable  | no    |
      | other_provider_better_placed | yes   |

  Scenario: Affordability is judged against the budget, not against today's spend
    Given the service in "all-clear.yaml", except:
      | fact                 | value    |
      | annual_spend         | £300,000 |
      | in_house_annual_cost | £280,000 |
      | budget_available     | £250,000 |
    And the service is called "Pest control"
    When the rules are applied
    Then the outcome is procure
    And the explanation says "affordable_in_house = no"
    And the explanation says "read: in_house_annual_cost = £280,000, budget_available = £250,000"

  Scenario: Affordability is the first commissioning criterion
    Given the service in "all-clear.yaml", except:
      | fact                 | value      |
      | in_house_annual_cost | £1,300,000 |
    When the rules are applied
    Then the outcome is procure
    And the explanation says "affordability is the first commissioning criterion"

  Scenario: A service whose every part is specialist is bought in
    Given the service in "all-clear.yaml"
    And the service is called "Lifts and escalators"
    And the service has these elements:
      | name                 | specialist |
      | Lift maintenance     | yes        |
      | Escalator inspection | yes        |
    When the rules are applied
    Then the outcome is procure
    And the priority is not_applicable
    And the outcome is decided by the rule procure_when_not_appropriate
    And the element outcomes are:
      | name                 | outcome |
      | Lift maintenance     | procure |
      | Escalator inspection | procure |

  Scenario: Several grounds at once still give one outcome
    Given the service in "all-clear.yaml", except:
      | fact                         | value      |
      | in_house_annual_cost         | £1,400,000 |
      | safeguarding_concern         | yes        |
      | delivery_risk                | yes        |
      | other_provider_better_placed | yes        |
    When the rules are applied
    Then the outcome is procure
    And the outcome is decided by the rule procure_when_not_appropriate

  Scenario: Reasons that would have made insourcing urgent are reported but do not rank the service
    Given the service in "all-clear.yaml", except:
      | fact                 | value |
      | delivery_risk        | yes   |
      | exceptional_worker_demands | yes |
    When the rules are applied
    Then the outcome is procure
    And the priority is not_applicable
    And the reasons are exceptional_worker_demands
