Feature: Disabled Facilities Grant: who can apply
  Hillingdon pays a Disabled Facilities Grant to adapt the home of a
  disabled person who means to go on living there as their main home for
  the next five years (a shorter stay can be accepted for ill health). A
  tenant's grant waits for the landlord's written permission; for a council
  home, the permission of the council's Tenancy Management team.
  (SOURCE.md: "Grants and adaptations", paragraph "Who can apply";
  "Disabled Facilities Grant and other housing assistance grants", section
  "Disabled Facilities Grant (DFG)".)

  Background:
    Given a service with these facts:
      | fact                      | value                      |
      | application               | Stairlift for Mrs Adeyemi  |
      | disabled_person           | yes                        |
      | date_of_birth             | 1950-03-14                 |
      | intends_to_stay_five_years| yes                        |
      | tenure                    | owner_occupier             |
      | passport_benefit          | no                         |
      | assessed_contribution     | £1,000                     |
      | cost_of_works             | £4,500                     |
    And the service has these works:
      | name      | purpose          | recommended | practicable |
      | Stairlift | rooms_and_garden | yes         | yes         |

  Scenario: A disabled owner who will stay is approved, paying the contribution the means test sets
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is grant_with_contribution
    And no facts are needed
    And the outcome is decided by the rule award_grant
    And the rule contribution_payable decides

  Scenario: The grant is only for a disabled person
    Given disabled_person is no
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is refused
    And the outcome is decided by the rule refuse_when_not_disabled
    And the deciding rule cites the section "Disabled facilities grants"

  Scenario: A shorter stay accepted for ill health still qualifies
    Given intends_to_stay_five_years is no
    And shorter_stay_accepted is yes
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is grant_with_contribution

  Scenario: Someone moving on within five years, with no shorter stay accepted, is refused
    Given intends_to_stay_five_years is no
    And shorter_stay_accepted is no
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is refused
    And the outcome is decided by the rule refuse_when_not_main_home

  Scenario: A private tenant's grant waits for the landlord's written permission
    Given tenure is private_tenant
    And landlord_permission is no
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is awaiting_permission
    And the outcome is decided by the rule await_landlord_permission

  Scenario: Whether the landlord has given permission is asked when it is not known
    Given tenure is housing_association_tenant
    And landlord_permission is not known
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is undetermined
    And the facts needed are landlord_permission
    And the officer is asked "Has the landlord given written permission for the works?"
