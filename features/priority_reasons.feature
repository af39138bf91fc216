Feature: Priority in the insourcing programme
  The council brings services in-house as a programme, and puts first the
  services where running them itself brings residents a particularly strong
  benefit (Local context). The policy names seven such reasons: worries about
  the quality or impact of the service, personal contact with the people who
  use it, work with groups at risk, an effect on people's rights, exceptional
  demands on the workforce, better value for money, and the council's wish to
  grow its own capacity in the area. A service being brought in-house has
  high priority when at least one reason holds, and standard priority when
  none does. Services that are not being brought in-house are not ranked.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: Concerns about quality make insourcing a high priority
    Given the service in "all-clear.yaml", except:
      | fact             | value |
      | quality_concerns | yes   |
    When the rules are applied
    Then the outcome is in_house
    And the priority is high
    And the reasons are quality_concerns
    And no facts are needed
    And the rule high_priority decides
    And the rule standard_priority is overridden by high_priority
    And the rule high_priority cites the section "Local context"
    And the explanation says "Reasons: quality_concerns"

  Scenario Outline: Each strong-benefit reason on its own makes the priority high
    Given the service in "all-clear.yaml"
    And <reason> is yes
    When the rules are applied
    Then the outcome is in_house
    And the priority is high
    And the reasons are <reason>
    And the rule high_priority decides

    Examples:
      | reason                     |
      | quality_concerns           |
      | personal_contact           |
      | at_risk_groups             |
      | affects_rights             |
      | exceptional_worker_demands |
      | build_capacity             |

  Scenario Outline: Bringing a service in-house for less than it costs today is a reason: value for money
    Given the service in "all-clear.yaml", except:
      | fact                 | value        |
      | annual_spend         | <spend>      |
      | in_house_annual_cost | <in_house>   |
      | budget_available     | £2,000,000   |
    When the rules are applied
    Then the outcome is in_house
    And the priority is <priority>
    And the explanation says "value_for_money_gain = <gain>"

    Examples: Cheaper in-house
      | spend      | in_house   | priority | gain |
      | £1,500,000 | £1,350,000 | high     | yes  |
      | £1,000,000 | £999,999   | high     | yes  |

    Examples: No saving
      | spend      | in_house   | priority | gain |
      | £1,000,000 | £1,000,000 | standard | no   |
      | £1,000,000 | £1,100,000 | standard | no   |

  Scenario: The saving is reported as the reason value_for_money_gain
    Given the service in "all-clear.yaml", except:
      | fact                 | value    |
      | in_house_annual_cost | £900,000 |
    When the rules are applied
    Then the priority is high
    And the reasons are value_for_money_gain

  Scenario: Several reasons can hold at once; all are reported
    Given the service in "all-clear.yaml", except:
      | fact             | value |
      | personal_contact | yes   |
      | at_risk_groups   | yes   |
      | affects_rights   | yes   |
    And the service is called "Home care"
    When the rules are applied
    Then the outcome is in_house
    And the priority is high
    And the reasons are personal_contact, at_risk_groups and affects_rights

  Scenario: With no reason the service still takes its place in the programme
    Given the service in "all-clear.yaml"
    When the rules are applied
    Then the priority is standard
    And there are no reasons
    And the rule standard_priority decides
    And the rule high_priority does not apply
    And the rule priority_only_when_insourcing is overridden by standard_priority

  Scenario Outline: Phased and hybrid insourcing are ranked like any other insourcing
    Given the service in "all-clear.yaml"
    And <fact> is <value>
    And at_risk_groups is yes
    And the service has these elements:
      | name           | specialist   |
      | Day centre     | no           |
      | Minibus repair | <specialist> |
    When the rules are applied
    Then the outcome is <outcome>
    And the priority is high
    And the reasons are at_risk_groups

    Examples:
      | fact         | value | specialist | outcome         |
      | has_capacity | no    | no         | in_house_phased |
      | has_capacity | yes   | yes        | hybrid          |

  Scenario Outline: A service not brought in-house is not ranked, even when reasons hold
    Given the service in "all-clear.yaml", except:
      | fact             | value |
      | quality_concerns | yes   |
      | <fact>           | yes   |
    When the rules are applied
    Then the outcome is <outcome>
    And the priority is not_applicable
    And the reasons are quality_concerns
    And the rule priority_only_when_insourcing decides
    And the rule standard_priority does not apply
    And the rule high_priority does not apply

    Examples:
      | fact                 | outcome         |
      | nhs_expertise        | partnership_nhs |
      | vcs_reach            | partnership_vcs |
      | safeguarding_concern | procure         |
