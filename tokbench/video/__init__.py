"""Video: clips through tokenizers, TokBench-video's protocol, and suites scored on frames and clips.

Clips cross the contract as float32 ``[B,T,3,H,W]`` in ``[0,1]`` (:mod:`tokbench.video.contract`);
``docs/video.md`` describes the protocol, the data, the metrics and where they differ from TokBench.
"""
