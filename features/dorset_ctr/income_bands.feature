Feature: Dorset Council Tax Reduction: the income bands
  A working-age household's reduction is a share of its council tax, chosen
  by the band its weekly income reaches in the column for its kind of
  household: six bands, from 100% down to nothing. A household on a
  passported benefit gets the first band whatever its income; one with
  capital above £6,000 gets nothing; a home above band E is reduced as if it
  were in band E. (SOURCE.md: "Council Tax Reduction Scheme 2024 to 2025",
  Schedule 1; "Your bill explained"; "Updates to Local Council Tax reduction
  scheme approved".)

  Background:
    Given a service with these facts:
      | fact               | value       |
      | claim              | Ms Okafor   |
      | pension_age        | no          |
      | partner            | no          |
      | dependants         | 0           |
      | passported_benefit | no          |
      | capital            | £800        |
      | council_tax_band   | b           |
      | annual_liability   | £1,850      |

  Scenario: The top of band 1 for a single applicant keeps the whole bill off
    Given weekly_income is £92.00
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is reduction
    And the result discount_rate is 100%
    And the result annual_reduction is £1,850
    And the explanation says "the band from £0 gives 100%"

  Scenario: A penny more moves the household into band 2
    Given weekly_income is £92.01
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the result discount_rate is 80%
    And the result annual_reduction is £1,480
    And the explanation says "single_bands on £92.01: the band from £92.01 gives 80%"

  Scenario: With a partner the same income is in the couple column's band 1
    Given partner is yes
    And weekly_income is £145.00
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the result discount_rate is 100%

  Scenario: An income in the last band gives no reduction
    Given weekly_income is £232.01
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is no_reduction
    And the outcome is decided by the rule income_above_the_bands
    And the result annual_reduction is £0

  Scenario: A passported benefit needs no income
    Given passported_benefit is yes
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is reduction
    And no facts are needed
    And the result discount_rate is 100%

  Scenario: Without the income the band, and so the reduction, is not known
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is undetermined
    And the facts needed are weekly_income
    And the result annual_reduction is unknown

  Scenario: A home in band G is reduced at band E level
    Given council_tax_band is g
    And annual_liability is £4,167.63
    And band_e_charge is £3,056.26
    And weekly_income is £200.00
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the result discount_rate is 20%
    And the result annual_reduction is £611.25

  Scenario: Capital above the limit gives no reduction
    Given capital is £6,000.01
    And weekly_income is £50.00
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is capital_above_limit

  Scenario: The rules hold the 2024/25 scheme year only
    Given weekly_income is £50.00
    When the rules in "rules/dorset-ctr" are applied as at 2025-04-01
    Then the outcome is outside_scheme_year
    And the outcome is decided by the rule outside_2024_25

  Scenario: A pension-age household is assessed under the pension-age scheme
    Given pension_age is yes
    When the rules in "rules/dorset-ctr" are applied as at 2024-10-01
    Then the outcome is pension_age_scheme
    And no facts are needed
    And the result annual_reduction is £0
