"""Face-matching evaluation: LFW-format pairs, score distributions and verification metrics."""
