"""What the API serves: the deployment (champions, store, latest batch), sourcing views, API keys."""
