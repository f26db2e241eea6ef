"""bench/compare: playaug side by side with the tools users would otherwise pick.

Modules:
  common  timing (round-robin repetitions), the driver process, machine facts, statistics
  cpu     the CPU rows: reader, PCA fit, protuberance + reversal, augment command, nearest
  gpu     the GPU rows: covariance, fit, protuberance, projection, nearest, copy ceiling
  report  JSON, Markdown and PNG output
"""
