"""Serves the workflows' deployments: executes each scheduled flow run when it is due.
Needs PREFECT_API_URL (set by deploy/). Poll frequency: PREFECT_RUNNER_POLL_FREQUENCY."""

from .follow_up import DEPLOYMENT_NAME, follow_up_check_in

if __name__ == "__main__":
    follow_up_check_in.serve(name=DEPLOYMENT_NAME, pause_on_shutdown=False, print_starting_message=False,
                             tags=["continuum"])
