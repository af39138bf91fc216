Feature: Disabled Facilities Grant: the works the grant pays for
  The grant pays for work the occupational therapist recommends as
  necessary and appropriate, of the six kinds the council lists (getting in
  and out, reaching rooms and the garden, caring for others, safety, washing
  facilities, heating and its controls), that is reasonable and practical
  for the home. The recommended works are done in full or not at all.
  (SOURCE.md: "Grants and adaptations", paragraphs "Necessary and
  appropriate" and "Works"; "Disabled Facilities Grant and other housing
  assistance grants", section "What works are covered?".)

  Background:
    Given a service with these facts:
      | fact                      | value                  |
      | application               | Bathroom for Mr Okafor |
      | disabled_person           | yes                    |
      | date_of_birth             | 1960-07-01             |
      | intends_to_stay_five_years| yes                    |
      | tenure                    | owner_occupier         |
      | passport_benefit          | yes                    |
      | cost_of_works             | £7,500                 |

  Scenario: Each item of work is judged on its own
    Given the service has these works:
      | name                    | purpose            | recommended | practicable |
      | Level access shower     | washing_facilities | yes         | yes         |
      | Second bathroom upstairs| washing_facilities | no          | yes         |
      | Conservatory            | other              | yes         | yes         |
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is full_grant
    And the element outcomes are:
      | name                     | outcome         |
      | Level access shower      | covered         |
      | Second bathroom upstairs | not_recommended |
      | Conservatory             | not_covered     |

  Scenario: Each covered item of work counts towards the grant at its quoted cost
    Given the service has these works:
      | name                | purpose            | recommended | practicable | cost   |
      | Level access shower | washing_facilities | yes         | yes         | £6,000 |
      | Conservatory        | other              | yes         | yes         | £9,000 |
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is full_grant
    And the explanation says "work_cost = item.cost £6,000 = £6,000"
    And the explanation says "covered_works_cost = total of item.work_cost for each item in works = £6,000"
    And the explanation says "payable_works = the smaller of [covered_works_cost £6,000, cost_of_works £7,500, maximum_grant £30,000] = £6,000"

  Scenario: With nothing recommended of a covered kind, there is nothing to pay for
    Given the service has these works:
      | name         | purpose | recommended | practicable |
      | Conservatory | other   | yes         | yes         |
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is refused
    And the outcome is decided by the rule refuse_when_no_covered_work

  Scenario: One recommended item that the home cannot take stops the whole grant
    Given the service has these works:
      | name                           | purpose            | recommended | practicable |
      | Ground floor bedroom extension | rooms_and_garden   | yes         | no          |
      | Ground floor shower room       | washing_facilities | yes         | yes         |
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is refused
    And the outcome is decided by the rule refuse_when_recommended_work_impracticable
    And the element outcomes are:
      | name                           | outcome         |
      | Ground floor bedroom extension | not_practicable |
      | Ground floor shower room       | covered         |
