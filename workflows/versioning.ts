/**
 * A workflow type's Worker Versioning behaviour (setWorkflowOptions), declared only where it applies:
 * a versioned worker (one with a deployment name, config/deployment.ts). An unversioned worker — the
 * dev server, `imv-import dev`, the tests — must not send one: the SDK refuses the workflow task
 * ("versioning behavior cannot be specified without deployment options being set with versioned
 * mode"). An unversioned worker still has a build id of its own, with an empty deployment name.
 */
import { workflowInfo } from '@temporalio/workflow';
import type { VersioningBehavior, WorkflowDefinitionOptions } from '@temporalio/common';

export function versioningBehavior(behavior: VersioningBehavior): () => WorkflowDefinitionOptions {
  return () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: behavior } : {});
}
