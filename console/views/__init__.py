"""Console views, one module per area: landing, auth, dashboard, resources, leases, ledger, tasks,
disputes (actors' pages) and staff, arbitration (the operator's and arbitrators' pages).
Each view is thin: a selector for the page's data or a service call for its form."""
