"""Speech synthesised offline with eSpeak NG, for demo and test media.

PyPI ``espeakng-loader`` ships the eSpeak NG library and its voice data; the library is
driven through ctypes in synchronous mode and its 22,050 Hz output resampled with PyAV to
16 kHz mono float32, what speech models read.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from typing import TYPE_CHECKING, Any

from eioku.domain.errors import InvalidInput, ProducerUnavailable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

AUDIO_RATE = 16_000
"""Sample rate of :func:`speak`'s output."""

_ESPEAK_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when done
_ESPEAK_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors, never exit()
_ESPEAK_RATE = 1  # espeakRATE parameter, words per minute
_ESPEAK_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def _load_espeak() -> tuple[Any, bytes]:
    """The eSpeak NG library shipped by ``espeakng-loader``, typed, and its data folder."""
    try:
        import espeakng_loader  # type: ignore[import-untyped]

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = str(espeakng_loader.get_data_path()).encode()
    except (ImportError, OSError, RuntimeError) as exc:
        raise ProducerUnavailable(
            f"speech synthesis needs eSpeak NG from the PyPI package 'espeakng-loader' "
            f"(pip install espeakng-loader): {exc}"
        ) from exc
    c_int, c_uint, c_void_p = ctypes.c_int, ctypes.c_uint, ctypes.c_void_p
    lib.espeak_Initialize.argtypes = [c_int, c_int, ctypes.c_char_p, c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
    text, size = ctypes.c_char_p, ctypes.c_size_t
    lib.espeak_Synth.argtypes = [text, size, c_uint, c_int, c_uint, c_uint, c_void_p, c_void_p]
    return lib, data


class _Espeak:
    """The eSpeak NG library, initialised once; callers hold :data:`_ESPEAK_LOCK`."""

    def __init__(self) -> None:
        lib, data = _load_espeak()
        self.rate = int(lib.espeak_Initialize(_ESPEAK_SYNCHRONOUS, 0, data, _ESPEAK_DONT_EXIT))
        if self.rate <= 0:
            raise ProducerUnavailable(
                "eSpeak NG from 'espeakng-loader' failed to initialise (voice data missing?)"
            )
        self._chunks: list[bytes] = []
        self._callback = _SynthCallback(self._collect)  # kept alive as long as the library
        lib.espeak_SetSynthCallback(self._callback)
        if lib.espeak_SetVoiceByName(b"en-us") != 0 and lib.espeak_SetVoiceByName(b"en") != 0:
            raise ProducerUnavailable("eSpeak NG from 'espeakng-loader' has no English voice")
        self._lib = lib

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0  # carry on

    def synth(self, text: str, rate_wpm: int) -> bytes:
        """Native-rate signed 16-bit mono samples of ``text``."""
        self._chunks = []
        self._lib.espeak_SetParameter(_ESPEAK_RATE, rate_wpm, 0)
        encoded = text.encode()
        status = self._lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _ESPEAK_POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
        )
        self._lib.espeak_Synchronize()
        if status != 0:
            raise ProducerUnavailable(f"eSpeak NG failed to speak {text!r} (error {status})")
        return b"".join(self._chunks)


_ESPEAK_LOCK = threading.Lock()
_espeak: _Espeak | None = None


@functools.lru_cache(maxsize=256)
def _speech_samples(text: str, rate_wpm: int) -> npt.NDArray[np.float32]:
    global _espeak  # noqa: PLW0603 - one library instance per process, made on first use
    import av
    import numpy as np

    with _ESPEAK_LOCK:
        if _espeak is None:
            _espeak = _Espeak()
        raw, native_rate = _espeak.synth(text, rate_wpm), _espeak.rate
    samples = np.frombuffer(raw, dtype=np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = native_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    parts = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    parts += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    out = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    out.flags.writeable = False
    return out


def speak(text: str, *, rate_wpm: int = 150) -> npt.NDArray[np.float32]:
    """``text`` spoken by eSpeak NG's US English voice, as 16 kHz mono float32 in [-1, 1].

    The same text and rate always give the same samples. Safe to call from several threads
    (the engine is shared and used under a lock).

    Raises:
        InvalidInput: empty text, or a rate outside 80..450 words per minute.
        ProducerUnavailable: eSpeak NG (PyPI ``espeakng-loader``) cannot be loaded.
    """
    if not text.strip():
        raise InvalidInput("nothing to speak: the text is empty")
    if not 80 <= rate_wpm <= 450:
        raise InvalidInput(f"speech rate {rate_wpm} wpm is outside 80..450")
    return _speech_samples(text.strip(), rate_wpm).copy()
