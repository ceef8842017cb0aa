-- An agent's package list becomes one row: the ids of its package builds,
-- ascending, as comma-separated differences ("1,2,4" is 1, 3, 7). With a
-- row per (agent, build) and an index by build, a first inventory touched
-- some 1,500 index pages, and ingestion at 20,000 agents slowed to a few
-- uploads a second once the index outgrew the page cache. One row per
-- agent is one small write per upload; a fleet search finds the few
-- matching builds, then reads every agent's list once.
CREATE TABLE agent_inventory (
    agent_id    BIGINT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    package_ids TEXT NOT NULL
);

INSERT INTO agent_inventory (agent_id, package_ids)
    SELECT agent_id, string_agg(d::text, ',' ORDER BY package_id) FROM (
        SELECT agent_id, package_id,
            package_id - COALESCE(LAG(package_id) OVER (PARTITION BY agent_id ORDER BY package_id), 0) AS d
        FROM agent_packages) AS l
    GROUP BY agent_id;

DROP TABLE agent_packages;
