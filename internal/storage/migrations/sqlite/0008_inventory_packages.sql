-- Installed packages, normalised. Most machines of a fleet run the same
-- builds of the same packages, so each distinct package build is stored
-- once (inventory_packages) and a machine's list is a set of ids
-- (agent_packages): 20,000 agents × 1,500 packages is 30 million small
-- rows instead of 30 million copies of names and versions. Fleet searches
-- find the few matching builds first, then the machines that have them.
CREATE TABLE inventory_packages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ecosystem      TEXT NOT NULL,
    name           TEXT NOT NULL,
    arch           TEXT NOT NULL DEFAULT '',
    version        TEXT NOT NULL,
    source_name    TEXT NOT NULL DEFAULT '',
    source_version TEXT NOT NULL DEFAULT '',
    origin         TEXT NOT NULL DEFAULT '',
    UNIQUE (name, ecosystem, arch, version, source_name, source_version, origin)
);
CREATE INDEX inventory_packages_source ON inventory_packages(source_name);

INSERT INTO inventory_packages (ecosystem, name, arch, version, source_name, source_version, origin)
    SELECT DISTINCT ecosystem, name, arch, version, source_name, source_version, origin FROM agent_packages;

CREATE TABLE agent_packages_new (
    agent_id   BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    package_id BIGINT NOT NULL REFERENCES inventory_packages(id),
    PRIMARY KEY (agent_id, package_id)
) WITHOUT ROWID;

INSERT INTO agent_packages_new (agent_id, package_id)
    SELECT o.agent_id, k.id FROM agent_packages o JOIN inventory_packages k
        ON k.name = o.name AND k.ecosystem = o.ecosystem AND k.arch = o.arch AND k.version = o.version
        AND k.source_name = o.source_name AND k.source_version = o.source_version AND k.origin = o.origin;

DROP TABLE agent_packages;
ALTER TABLE agent_packages_new RENAME TO agent_packages;
CREATE INDEX agent_packages_package ON agent_packages(package_id);
