"""Training-time code for the text cues (data preparation, heads, threshold tuning). Not imported at run time."""
