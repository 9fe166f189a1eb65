"""The pure core: fields, results, policy, masking. No network, no files."""
