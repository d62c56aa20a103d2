"""Operating the warehouse: health checks, the analytical queries, the HTML report, psql, the supervisor."""
