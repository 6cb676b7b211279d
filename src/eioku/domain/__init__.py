"""The pure core: envelopes, runs, selection rules, payload schemas and the error tree."""
