Feature: Procurement and local providers
  Where the council finds that insourcing is not appropriate, it uses its
  other levers. It works with another public sector body where one can
  deliver the service alongside it; failing that it buys the service, and
  when buying it looks for local providers of any sector who share the
  council's values: they treat their staff well and help residents and
  communities grow stronger. Only when neither is available is the service
  procured in the ordinary way under the Procurement Strategy (Relationship
  to existing council policy).

  Precedence, first that applies wins: public partnership, local provider,
  plain procurement.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: An unaffordable service goes to a local provider that shares the council's values
    Given the service in "all-clear.yaml", except:
      | fact                     | value      |
      | in_house_annual_cost     | £1,350,000 |
      | local_provider_available | yes        |
    When the rules are applied
    Then the outcome is procure_local
    And the priority is not_applicable
    And there are no reasons
    And no facts are needed
    And the outcome is decided by the rule procure_from_local_provider
    And the deciding rule cites the section "Relationship to existing council policy"
    And the rule procure_when_not_appropriate is overridden by procure_from_local_provider
    And the explanation says "looks first for local providers that share its values"

  Scenario Outline: The partner or provider available decides how the service is bought in
    Given the service in "all-clear.yaml", except:
      | fact                     | value     |
      | delivery_risk            | yes       |
      | public_partner_available | <public>  |
      | local_provider_available | <local>   |
    When the rules are applied
    Then the outcome is <outcome>
    And the priority is not_applicable
    And the outcome is decided by the rule <rule>

    Examples:
      | public | local | outcome            | rule                         |
      | yes    | yes   | partnership_public | partner_with_public_body     |
      | yes    | no    | partnership_public | partner_with_public_body     |
      | no     | yes   | procure_local      | procure_from_local_provider  |
      | no     | no    | procure            | procure_when_not_appropriate |

  Scenario: A public partner comes before a local provider
    Given the service in "all-clear.yaml", except:
      | fact                     | value |
      | safeguarding_concern     | yes   |
      | public_partner_available | yes   |
      | local_provider_available | yes   |
    When the rules are applied
    Then the outcome is partnership_public
    And the rule procure_from_local_provider is overridden by partner_with_public_body
    And the rule procure_when_not_appropriate is overridden by procure_from_local_provider

  Scenario: With no partner and no local provider the service is procured under the Procurement Strategy
    Given the service in "all-clear.yaml", except:
      | fact                         | value |
      | other_provider_better_placed | yes   |
    And the service is called "Agency staffing"
    When the rules are applied
    Then the outcome is procure
    And the rule procure_when_not_appropriate decides
    And the rule procure_from_local_provider does not apply
    And the rule partner_with_public_body does not apply
    And the explanation says "in line with its Procurement Strategy"

  Scenario: The parts of a service bought in follow the service
    Given the service in "all-clear.yaml", except:
      | fact                     | value |
      | delivery_risk            | yes   |
      | local_provider_available | yes   |
    And the service has these elements:
      | name            | specialist |
      | Grounds upkeep  | no         |
      | Tree surgery    | yes        |
    When the rules are applied
    Then the outcome is procure_local
    And the element outcomes are:
      | name           | outcome       |
      | Grounds upkeep | procure_local |
      | Tree surgery   | procure_local |
    And the rule part_follows_service decides
