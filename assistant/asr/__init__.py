"""Speech recognizers behind one interface (see base.Recognizer)."""
