"""Our own fuzzing of the loaders: mutators over real files (:mod:`viewer.fuzz.mutators`)."""
