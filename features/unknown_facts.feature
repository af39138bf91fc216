Feature: Unknown facts and the facts needed
  Officers often do not have every answer when they first look at a service.
  A fact that is not given is treated as unknown, never as "no". The rules
  still decide whenever the facts that are known settle the matter. When
  they do not, the outcome (or the priority, or how a part is delivered) is
  undetermined, and the decision lists exactly the missing facts whose
  answers could change it, each with the question to ask. The officer
  answers those questions and applies the rules again.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: A missing safeguarding answer leaves the outcome open
    Given the service in "all-clear.yaml"
    And safeguarding_concern is missing
    When the rules are applied
    Then the outcome is undetermined
    And the priority is undetermined
    And the facts needed are safeguarding_concern
    And the officer is asked "Would in-house delivery raise a safeguarding concern?"
    And no rule decides the outcome
    And the rule procure_when_not_appropriate is not known yet
    And the rule insource_by_default applies
    And the explanation says "Not settled yet. Answer these to decide:"

  Scenario: Answering the question settles the decision
    Given the service in "all-clear.yaml"
    And safeguarding_concern is no
    When the rules are applied
    Then the outcome is in_house
    And no facts are needed

  Scenario: A fact written as unknown in a table is missing too
    Given the service in "all-clear.yaml", except:
      | fact          | value   |
      | delivery_risk | unknown |
    When the rules are applied
    Then the outcome is undetermined
    And the facts needed are delivery_risk

  Scenario Outline: Each fact that decides between insourcing and not is asked for when missing
    Given the service in "all-clear.yaml"
    And <fact> is not known
    When the rules are applied
    Then the outcome is undetermined
    And the priority is undetermined
    And the facts needed are <fact>

    Examples:
      | fact                         |
      | in_house_annual_cost         |
      | budget_available             |
      | safeguarding_concern         |
      | delivery_risk                |
      | environmentally_sustainable  |
      | other_provider_better_placed |
      | nhs_expertise                |
      | vcs_reach                    |

  Scenario: The voluntary sector cannot be chosen until the NHS question is answered
    Given a service with these facts:
      | fact      | value |
      | vcs_reach | yes   |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is not_applicable
    And the facts needed are nhs_expertise
    And the officer is asked "Does the NHS bring specialist knowledge the service needs?"

  Scenario: Facts that cannot change the outcome are not asked for
    Given the service in "all-clear.yaml", except:
      | fact                         | value   |
      | other_provider_better_placed | yes     |
      | local_provider_available     | yes     |
      | public_partner_available     | no      |
      | quality_concerns             | unknown |
      | has_capacity                 | unknown |
      | annual_spend                 | unknown |
    When the rules are applied
    Then the outcome is procure_local
    And the priority is not_applicable
    And no facts are needed

  Scenario: Only the partners still possible are asked about
    Given the service in "all-clear.yaml", except:
      | fact                     | value   |
      | delivery_risk            | yes     |
      | public_partner_available | unknown |
      | local_provider_available | unknown |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is not_applicable
    And the facts needed are public_partner_available and local_provider_available

  Scenario: The outcome can be settled while the priority is not
    Given the service in "all-clear.yaml"
    And quality_concerns is not known
    When the rules are applied
    Then the outcome is in_house
    And the outcome is decided by the rule insource_by_default
    And the priority is undetermined
    And the facts needed are quality_concerns

  Scenario: One reason that holds settles the priority, whatever the other reasons are
    Given the service in "all-clear.yaml", except:
      | fact             | value   |
      | quality_concerns | unknown |
      | annual_spend     | unknown |
      | personal_contact | yes     |
    When the rules are applied
    Then the outcome is in_house
    And the priority is high
    And the reasons are personal_contact
    And no facts are needed

  Scenario: The priority can be settled while the outcome is not
    Given the service in "all-clear.yaml", except:
      | fact         | value   |
      | has_capacity | unknown |
      | at_risk_groups | yes   |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is high
    And the facts needed are has_capacity
    And the officer is asked "Does the council have the capacity (infrastructure, management) to run the service now?"

  Scenario: An element whose specialist answer is missing is asked about by its place in the list
    Given the service in "all-clear.yaml"
    And the service has these elements:
      | name              | specialist |
      | Cleaning          | no         |
      | Boiler servicing  |            |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is standard
    And the facts needed are elements[1].specialist
    And the element outcomes are:
      | name             | outcome      |
      | Cleaning         | in_house     |
      | Boiler servicing | undetermined |

  Scenario: With nothing known, every fact that matters is needed
    Given a service with these facts:
      | fact    | value           |
      | service | New enquiry     |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is undetermined
    And the facts needed are annual_spend, in_house_annual_cost, budget_available, quality_concerns, personal_contact, at_risk_groups, affects_rights, exceptional_worker_demands, build_capacity, has_capacity, has_capability, safeguarding_concern, delivery_risk, environmentally_sustainable, other_provider_better_placed, nhs_expertise, vcs_reach, public_partner_available, local_provider_available
    And the explanation says "Service: New enquiry"

  Scenario: A reason is not asked for when every affordable cost already brings a saving
    "The in-house cost is within the budget" and "the in-house cost is below
    today's spend" are both about the same missing cost. Here any cost within
    the £900,000 budget is below the £1,000,000 spent today, so whenever the
    service comes in-house value for money is a reason and the priority is
    high: personal contact can change nothing, and it is not asked for.
    Given the service in "all-clear.yaml", except:
      | fact                 | value    |
      | budget_available     | £900,000 |
      | in_house_annual_cost | unknown  |
      | personal_contact     | unknown  |
    When the rules are applied
    Then the outcome is undetermined
    And the priority is undetermined
    And the facts needed are in_house_annual_cost
