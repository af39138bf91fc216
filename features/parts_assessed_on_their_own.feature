Feature: Parts of a service assessed on their own
  The policy's hybrid paragraph sends each part of a service to whoever is
  assessed best equipped to deliver it; specialist work such as lift
  maintenance is its example, not the only ground (Relationship to existing
  council policy). A part is external when it is specialist, or when another
  provider has been assessed as better placed to deliver that part. A part
  with no such assessment is simply not marked: it reads as "no".

  Background:
    Given the policy in "rules/haringey"

  Scenario: A parking service keeps appeals and permits and leaves enforcement with a partner
    Given the service in "all-clear.yaml"
    And the service is called "Parking services"
    And the service has these elements:
      | name                   | specialist | other_provider_better_placed |
      | Appeals                | no         | no                           |
      | Permits                | no         |                              |
      | On-street enforcement  | no         | yes                          |
    When the rules are applied
    Then the outcome is hybrid
    And no facts are needed
    And the outcome is decided by the rule hybrid_for_specialist_elements
    And the element outcomes are:
      | name                  | outcome  |
      | Appeals               | in_house |
      | Permits               | in_house |
      | On-street enforcement | external |
    And the explanation says "part_better_placed_elsewhere"

  Scenario: When every part is delivered by others, there is nothing to bring in-house
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name        | specialist | other_provider_better_placed |
      | Enforcement | no         | yes                          |
      | Lifts       | yes        | no                           |
    When the rules are applied
    Then the outcome is procure
    And the element outcomes are:
      | name        | outcome |
      | Enforcement | procure |
      | Lifts       | procure |

  Scenario: A part better placed elsewhere needs no answer about being specialist
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name        | specialist | other_provider_better_placed |
      | Cleaning    | no         | no                           |
      | Enforcement |            | yes                          |
    When the rules are applied
    Then the outcome is hybrid
    And no facts are needed
    And the element outcomes are:
      | name        | outcome  |
      | Cleaning    | in_house |
      | Enforcement | external |

  Scenario: A part that is both specialist and better placed elsewhere is external on both grounds
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name     | specialist | other_provider_better_placed |
      | Cleaning | no         | no                           |
      | Lifts    | yes        | yes                          |
    When the rules are applied
    Then the outcome is hybrid
    And the element outcomes are:
      | name     | outcome  |
      | Cleaning | in_house |
      | Lifts    | external |
    And the explanation says "specialist_part_external"
    And the explanation says "part_better_placed_elsewhere"
