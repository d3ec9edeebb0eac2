"""The kernel matrix: kernels fetched or built and cached, booted under virtme-ng, stdc's suites run inside."""
