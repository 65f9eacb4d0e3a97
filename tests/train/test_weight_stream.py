"""The trainer's side of the weight stream: a request waits for every consumer's answer, and a
consumer that is gone turns the wait into an error instead of a hang."""

from __future__ import annotations

import threading

import pytest

from lcpipe.runtime.channels import StreamChannel
from lcpipe.runtime.stage import OutputPort
from lcpipe.train.weight_stream import Answers, StreamError, WeightStream


def consumer(channel: StreamChannel, name: str, state) -> threading.Thread:
    """Answers the first request on its channel, as train.swa does."""

    def run():
        request = channel.get(timeout=30)
        request.answers.answer(name, state)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_states_waits_for_every_consumer():
    stop = threading.Event()
    channels = [StreamChannel("a", capacity=2), StreamChannel("b", capacity=2)]
    stream = WeightStream(OutputPort("steps", channels, stop))
    threads = [consumer(channels[0], "swa", {"n": 1}), consumer(channels[1], "ema", {"n": 2})]
    assert stream.states(5) == {"swa": {"n": 1}, "ema": {"n": 2}}
    for t in threads:
        t.join(timeout=30)


def test_a_consumer_gone_is_an_error_not_a_hang():
    stop = threading.Event()
    channels = [StreamChannel("a", capacity=2), StreamChannel("b", capacity=2)]
    stream = WeightStream(OutputPort("steps", channels, stop))
    thread = consumer(channels[0], "swa", {"n": 1})

    def fail():  # takes the request, then its stage ends without answering
        channels[1].get(timeout=30)
        channels[1].reader_done()

    failing = threading.Thread(target=fail, daemon=True)
    failing.start()
    with pytest.raises(StreamError, match="stopped before it answered"):
        stream.states(5)
    thread.join(timeout=30)
    failing.join(timeout=30)


def test_an_answer_that_never_comes_times_out():
    answers = Answers(expected=1)
    with pytest.raises(StreamError, match="no answer"):
        answers.wait(lambda: True, timeout=0.3)
