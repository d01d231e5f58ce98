#!/bin/sh
# A plain CI step (GitLab CI, Jenkins, Buildkite, a pre-commit hook): policy tests, then
# the manifests against a cluster snapshot. Exit 0 all well, 1 a test failed or a change
# would be denied, 2 bad input. BULWARK is the bulwark command (default: bulwark on PATH).
# BASE, when set, is the manifests before the change (say a `git worktree add ../base
# origin/main` checkout's deploy/): objects only it names are checked as deletions.
set -eu
BULWARK=${BULWARK:-bulwark}
$BULWARK test "${POLICY_TESTS:-policy-tests}" --junit-file "${JUNIT_FILE:-bulwark-junit.xml}"
$BULWARK check -f "${MANIFESTS:-deploy}" --snapshot "${SNAPSHOT:-cluster-snapshot.yaml}" ${BASE:+--base "$BASE"}
