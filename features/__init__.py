"""The policy's living documentation: Gherkin features, their step library and the tests of the examples."""
