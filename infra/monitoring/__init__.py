"""The nightly loop: checks, policy, scorecard, tickets and remediation (compositions over models/ and indexes/)."""
