package inventory

import (
	"fmt"
	"strings"
)

// bdbFixtureBlobs returns the headers stored in testdata/rpm-bdb-Packages:
// rockyBlobs (small enough to be stored on the hash pages) followed by 30
// packages with descriptions of 1 to 10 KiB, stored on chains of overflow
// pages. The fixture was written by Berkeley DB 5.3's db_load from a dump
// of these blobs, keyed by record number as rpm does (see TestRPMBerkeleyDB).
func bdbFixtureBlobs() [][]byte {
	blobs := rockyBlobs()
	for i := range 30 {
		tags := rpmPkgTags(fmt.Sprintf("synthetic-%03d", i), fmt.Sprintf("1.%d", i), "1.el8", int32(i%3)-1, "x86_64",
			fmt.Sprintf("synthetic-src-1.%d-1.el8.src.rpm", i), "CentOS")
		tags = append(tags, rpmTag{tag: 1005, typ: rpmTypeI18NString, val: strings.Repeat("description ", 100+(i%8)*100)})
		blobs = append(blobs, buildRPMHeader(tags))
	}
	return blobs
}
