"""Rate–distortion: classical codec curves over a bpp grid, tokenizers placed on them at their rate.

``grid`` (the codec bpp grid and the best ``down=`` at each rate), ``rate`` (a model's rates),
``equivalent`` (codec-equivalent rate on the monotone envelope), ``bjontegaard`` (BD-rate and
BD-metric), ``runner`` (runs and the codec-point cache), ``plot`` (PNG and HTML). See docs/rd.md.
"""
