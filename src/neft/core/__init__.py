"""Layer 2, the science: devices, noise, non-idealities, models, data, methods, training, Monte-Carlo evaluation, the
worst-case probe, device fitting, checkpoints and the aihwkit-lightning bridge. Imports only neft.util."""
