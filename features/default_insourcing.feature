Feature: Insourcing is the default
  The council's starting point is to run its services itself. A service is
  brought in-house unless one of the exceptions in the policy applies: a
  partnership with the NHS or the voluntary sector, or a finding that
  insourcing is not appropriate (Principles; Relationship to existing council
  policy). When nothing stands in the way, the service comes in-house at once
  and takes a standard place in the insourcing programme.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: A service where all is clear is brought in-house
    Given the service in "all-clear.yaml"
    When the rules are applied
    Then the outcome is in_house
    And the priority is standard
    And there are no reasons
    And no facts are needed
    And the outcome is decided by the rule insource_by_default
    And the deciding rule cites the section "Principles"
    And the rule in_house_at_once decides
    And the rule standard_priority decides
    And the explanation says "Outcome: in_house (rule insource_by_default"

  Scenario: Every exception to insourcing is checked and found not to apply
    Given the service in "all-clear.yaml"
    When the rules are applied
    Then the outcome is in_house
    And the rule partner_with_nhs does not apply
    And the rule partner_with_vcs does not apply
    And the rule partner_with_public_body does not apply
    And the rule procure_from_local_provider does not apply
    And the rule procure_when_not_appropriate does not apply
    And the rule hybrid_for_specialist_elements does not apply
    And the explanation says "procure_when_not_appropriate would give procure"

  Scenario Outline: Partners that are available do not stop insourcing when it is appropriate
    Given the service in "all-clear.yaml"
    And <fact> is yes
    When the rules are applied
    Then the outcome is in_house
    And the priority is standard
    And the outcome is decided by the rule insource_by_default
    And the rule <rule> does not apply

    Examples:
      | fact                     | rule                        |
      | local_provider_available | procure_from_local_provider |
      | public_partner_available | partner_with_public_body    |

  Scenario: In-house delivery that costs exactly the budget is still affordable
    Given the service in "all-clear.yaml", except:
      | fact                 | value      |
      | in_house_annual_cost | £1,200,000 |
      | budget_available     | £1,200,000 |
    When the rules are applied
    Then the outcome is in_house
    And the explanation says "affordable_in_house = yes"

  Scenario: Facts kept for reference do not change the decision
    Given the service in "all-clear.yaml"
    And the service is called "Parks maintenance"
    And contract_end_date is 2021-03-31
    And staff is 42
    When the rules are applied as at 2020-01-01
    Then the outcome is in_house
    And the priority is standard
    And the explanation says "Service: Parks maintenance"
    And the explanation says "contract_end_date = 2021-03-31"
    And the explanation says "as at 2020-01-01"

  Scenario: Every part of a service brought in-house is delivered in-house
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name            | specialist |
      | Street cleaning | no         |
      | Graffiti removal| no         |
    When the rules are applied
    Then the outcome is in_house
    And the element outcomes are:
      | name             | outcome  |
      | Street cleaning  | in_house |
      | Graffiti removal | in_house |
    And the rule part_follows_service decides
    And the rule part_in_hybrid_service does not apply
