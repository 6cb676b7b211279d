"""The processing pipeline: runs that decode a video once and feed real engines (SPEC §9)."""
