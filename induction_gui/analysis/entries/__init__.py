"""Every derived quantity the app shows, declared once (importing this registers them all).

- :mod:`.activations`: what the forward pass gives (detector scores, stripes,
  loss and its split, ICL, top-k, a head's copied representation).
- :mod:`.circuits`: weight-only circuits and scores (QK/OV/full/positional/K-composition,
  eigenvalue copying, composition scores and their sampled baseline).
- :mod:`.attribution`: logit attribution and ablation effects.
- :mod:`.printed`: one head's X, A and copied representations as the lecture printed them.
- :mod:`.markov`: one Markov-chain sequence's next-state prediction beside the in-context counts.
"""

from . import activations, attribution, circuits, markov, printed

__all__ = ["activations", "attribution", "circuits", "markov", "printed"]
