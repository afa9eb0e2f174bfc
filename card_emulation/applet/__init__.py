"""The EMV payment application of the emulated card, split by command group.

* :mod:`.card` — :class:`EmvCard`, the :class:`~card_emulation.interface.ApduCard`
  (dispatch, faults, timing, never raises);
* :mod:`.runtime` — volatile session state and persistent counters;
* :mod:`.selection` — SELECT (PPSE, PSE, AID) and the PSE directory records;
* :mod:`.reading` — GET PROCESSING OPTIONS and READ RECORD;
* :mod:`.cardholder` — VERIFY, GET DATA, GET CHALLENGE;
* :mod:`.authentication` — INTERNAL AUTHENTICATE (DDA);
* :mod:`.generate_ac` and :mod:`.risk` — GENERATE AC, CVR and IAD.
"""

from card_emulation.applet.card import EmvCard

__all__ = ["EmvCard"]
