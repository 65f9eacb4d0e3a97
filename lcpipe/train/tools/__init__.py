"""The training tools (`lcpipe train ...`): each reads the train.jax settings of a spec and
works through the same Trainer, losses, checkpoints and loader stages a pipeline uses."""
