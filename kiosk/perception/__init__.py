"""Perception: landmarks, quality, detection, alignment, embeddings and the pure detectors on top."""
