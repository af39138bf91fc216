Feature: Phased delivery while capacity and skills are built
  Bringing services back changes the shape of the organisation, and the
  infrastructure and management needed may take time to put in place. Where
  the council lacks the capacity to run a service now, or its own staff lack
  the skills, insourcing goes ahead in phases: skills and capability are built
  up first, then the service moves fully in-house (Implementation plan; the
  commissioning criteria of capacity and capability in Principles). Phasing
  changes how the service comes in-house, not whether it does, nor its place
  in the programme.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: Missing skills mean the service is phased in
    Given the service in "all-clear.yaml", except:
      | fact           | value |
      | has_capability | no    |
    When the rules are applied
    Then the outcome is in_house_phased
    And the priority is standard
    And there are no reasons
    And no facts are needed
    And the outcome is decided by the rule insource_by_default
    And the rule phase_in_while_building_skills decides
    And the rule in_house_at_once is overridden by phase_in_while_building_skills
    And the rule phase_in_while_building_skills cites the section "Implementation plan"
    And the explanation says "Decision in_house_mode: in_house_phased, decided by rule phase_in_while_building_skills"

  Scenario Outline: Capacity and capability must both be in place to insource at once
    Given the service in "all-clear.yaml", except:
      | fact           | value        |
      | has_capacity   | <capacity>   |
      | has_capability | <capability> |
    When the rules are applied
    Then the outcome is <outcome>
    And the priority is standard
    And the rule <rule> decides

    Examples:
      | capacity | capability | outcome         | rule                           |
      | yes      | yes        | in_house        | in_house_at_once               |
      | no       | yes        | in_house_phased | phase_in_while_building_skills |
      | yes      | no         | in_house_phased | phase_in_while_building_skills |
      | no       | no         | in_house_phased | phase_in_while_building_skills |

  Scenario: A phased service can still be a high priority
    Given the service in "all-clear.yaml", except:
      | fact                       | value |
      | has_capacity               | no    |
      | exceptional_worker_demands | yes   |
    And the service is called "Housing repairs"
    When the rules are applied
    Then the outcome is in_house_phased
    And the priority is high
    And the reasons are exceptional_worker_demands

  Scenario: Capacity does not matter when the service is not brought in-house
    Given the service in "all-clear.yaml", except:
      | fact         | value |
      | has_capacity | no    |
      | vcs_reach    | yes   |
    When the rules are applied
    Then the outcome is partnership_vcs
    And the explanation does not say "Decision in_house_mode"
