Feature: Partnerships with the NHS, the voluntary sector and other public bodies
  The policy values what other sectors bring. The NHS holds specialist
  knowledge that some services need, and voluntary and community groups reach
  people the council may not reach itself; where either is true the council
  works in partnership, and these two partnerships come before every other
  consideration, the NHS first (Relationship to existing council policy).
  Where insourcing is not appropriate, working alongside another public sector
  body is the next option the council looks at, ahead of buying from a
  provider.

  Precedence, first that applies wins:
  NHS partnership, voluntary sector partnership, then (only when insourcing is
  not appropriate) public partnership, local provider, plain procurement.

  Background:
    Given the policy in "rules/haringey"

  @worked-example
  Scenario: NHS expertise alone settles the outcome, whatever else is unknown
    Given a service with these facts:
      | fact          | value |
      | nhs_expertise | yes   |
    When the rules are applied
    Then the outcome is partnership_nhs
    And the priority is not_applicable
    And no facts are needed
    And the outcome is decided by the rule partner_with_nhs
    And the deciding rule cites the section "Relationship to existing council policy"
    And the explanation says "Outcome: partnership_nhs (rule partner_with_nhs"

  Scenario: The voluntary and community sector reaches communities the council cannot
    Given the service in "all-clear.yaml"
    And the service is called "Refugee befriending"
    And vcs_reach is yes
    When the rules are applied
    Then the outcome is partnership_vcs
    And the priority is not_applicable
    And the outcome is decided by the rule partner_with_vcs
    And the rule partner_with_nhs does not apply
    And the deciding rule cites the section "Relationship to existing council policy"

  Scenario: An NHS partnership comes before a voluntary sector partnership
    Given the service in "all-clear.yaml", except:
      | fact          | value |
      | nhs_expertise | yes   |
      | vcs_reach     | yes   |
    When the rules are applied
    Then the outcome is partnership_nhs
    And the rule partner_with_vcs is overridden by partner_with_nhs

  Scenario Outline: A partnership comes before a finding that insourcing is not appropriate
    Given the service in "all-clear.yaml", except:
      | fact                     | value |
      | <partner>                | yes   |
      | <ground>                 | <value> |
      | public_partner_available | yes   |
      | local_provider_available | yes   |
    When the rules are applied
    Then the outcome is <outcome>
    And the outcome is decided by the rule <rule>
    And the rule partner_with_public_body is overridden by partner_with_vcs

    Examples:
      | partner       | ground                      | value | outcome         | rule             |
      | vcs_reach     | safeguarding_concern        | yes   | partnership_vcs | partner_with_vcs |
      | vcs_reach     | environmentally_sustainable | no    | partnership_vcs | partner_with_vcs |
      | nhs_expertise | delivery_risk               | yes   | partnership_nhs | partner_with_nhs |

  Scenario: A partnership comes before a hybrid of in-house and specialist parts
    Given the service in "all-clear.yaml"
    And nhs_expertise is yes
    And the service has these elements:
      | name               | specialist |
      | Clinic reception   | no         |
      | Specialist testing | yes        |
    When the rules are applied
    Then the outcome is partnership_nhs
    And the rule hybrid_for_specialist_elements is overridden
    And the element outcomes are:
      | name               | outcome         |
      | Clinic reception   | partnership_nhs |
      | Specialist testing | partnership_nhs |

  Scenario: A public partner is chosen when insourcing is not appropriate
    Given the service in "all-clear.yaml", except:
      | fact                         | value |
      | other_provider_better_placed | yes   |
      | public_partner_available     | yes   |
    And the service is called "Coroner's service"
    When the rules are applied
    Then the outcome is partnership_public
    And the priority is not_applicable
    And the outcome is decided by the rule partner_with_public_body
    And the rule procure_when_not_appropriate is overridden

  Scenario: A public partner is not a reason to leave insourcing when insourcing is appropriate
    Given the service in "all-clear.yaml", except:
      | fact                     | value |
      | public_partner_available | yes   |
    When the rules are applied
    Then the outcome is in_house
    And the rule partner_with_public_body does not apply
    And the explanation says "why not: not_appropriate_to_insource is not so"
