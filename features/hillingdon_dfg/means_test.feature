Feature: Disabled Facilities Grant: the means test and the maximum grant
  An adult applicant is means tested: the grant pays the cost of the works
  less the contribution the test sets, and nothing when the contribution
  covers the cost. There is no means test for works for a child under 18,
  for applicants receiving certain benefits, or in the council's own homes;
  each of these grounds is a rule of its own, and when several hold the
  decision names them all. The grant never pays more than £30,000.
  (SOURCE.md: "Grants and adaptations", paragraph "Means test"; "Disabled
  Facilities Grant and other housing assistance grants", section "Disabled
  Facilities Grant (DFG)".)

  Background:
    Given a service with these facts:
      | fact                      | value                  |
      | application               | Shower for Ms Nowak    |
      | disabled_person           | yes                    |
      | intends_to_stay_five_years| yes                    |
      | tenure                    | owner_occupier         |
      | passport_benefit          | no                     |
      | cost_of_works             | £8,000                 |
    And the service has these works:
      | name                | purpose            | recommended | practicable |
      | Level access shower | washing_facilities | yes         | yes         |

  Scenario: The day before their 18th birthday a child is not means tested
    Given date_of_birth is 2007-07-01
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is full_grant
    And the reasons are disabled_child
    And no facts are needed
    And the rule child_not_means_tested decides

  Scenario: On their 18th birthday they are means tested
    Given date_of_birth is 2007-06-30
    And assessed_contribution is £1,000
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is grant_with_contribution
    And there are no reasons
    And the rule child_not_means_tested does not apply

  Scenario: Several grounds for no means test agree, and each is named
    Given date_of_birth is 2019-03-08
    And passport_benefit is yes
    And tenure is council_tenant
    And landlord_permission is yes
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is full_grant
    And the reasons are disabled_child, passport_benefit, council_home
    And the rule child_not_means_tested decides
    And the rule passport_benefit_not_means_tested decides
    And the rule council_home_not_means_tested decides

  Scenario: An adult whom the means test asks for nothing gets the whole cost
    Given date_of_birth is 1950-01-01
    And assessed_contribution is £0
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is full_grant
    And there are no reasons
    And the rule nil_contribution decides
    And the decision means_test_result is full_grant

  Scenario: A contribution that covers the whole cost leaves no grant
    Given date_of_birth is 1950-01-01
    And assessed_contribution is £8,000
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is no_grant
    And the outcome is decided by the rule no_grant_when_contribution_covers_cost

  Scenario: The grant stops at the maximum of £30,000
    Given date_of_birth is 1968-11-30
    And cost_of_works is £40,000
    And assessed_contribution is £9,999
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-06-30
    Then the outcome is maximum_grant
    And the rule capped_at_maximum decides
