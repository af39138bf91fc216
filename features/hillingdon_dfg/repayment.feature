Feature: Disabled Facilities Grant: repayment after a sale
  When an owner sells or transfers the adapted home, or it stops being
  their main residence, within ten years of the works being completed, the
  council recovers the part of a grant above £5,000, at most £10,000.
  Nothing is recovered from a tenant, on a grant of £5,000 or less, or after
  the ten years. (SOURCE.md: "Grants and adaptations", paragraph
  "Repayment"; "Disabled Facilities Grant (DFG): Repayment conditions".)

  Background:
    Given a service with these facts:
      | fact            | value                     |
      | application     | Sale of 12 Acacia Avenue  |
      | tenure          | owner_occupier            |
      | grant_paid      | £12,000                   |
      | completion_date | 2015-06-30                |

  Scenario: A sale on the tenth anniversary of completion is still within the ten years
    Given disposal_date is 2025-06-30
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-07-15
    Then the outcome is repay_part
    And the outcome is decided by the rule repay_after_early_disposal
    And the deciding rule cites the section "Disabled facilities grants"

  Scenario: A sale the day after the tenth anniversary repays nothing
    Given disposal_date is 2025-07-01
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-07-15
    Then the outcome is nothing_to_repay
    And the rule repay_after_early_disposal does not apply

  Scenario: The completion date is asked when it decides the repayment
    Given disposal_date is 2025-03-31
    And completion_date is not known
    When the rules in "rules/hillingdon-dfg" are applied as at 2025-07-15
    Then the outcome is undetermined
    And the facts needed are completion_date
    And the officer is asked "When were the grant works completed?"
