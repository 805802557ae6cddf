/**
 * Worker Versioning for operators: which versions of a worker deployment poll the task queue, which
 * one is current (new workflows start there) or ramping, which are draining (pinned workflows still
 * open: keep their workers) or drained (their workers may stop), and making a version current.
 * Raw WorkflowService calls (DescribeTaskQueue, DescribeWorkerDeployment,
 * SetWorkerDeploymentCurrentVersion), supported by Temporal server 1.27 and later.
 */
import type { Client } from '@temporalio/client';

/** temporal.api.enums.v1: TaskQueueType WORKFLOW = 1, ACTIVITY = 2; TaskQueueKind NORMAL = 1. */
const TASK_QUEUE_TYPES = [1, 2] as const;
const TASK_QUEUE_KIND_NORMAL = 1;
/** temporal.api.enums.v1.WorkerDeploymentVersionStatus. */
const VERSION_STATUS: Record<number, string> = { 1: 'inactive', 2: 'current', 3: 'ramping', 4: 'draining', 5: 'drained', 6: 'created' };
/** temporal.api.enums.v1.VersionDrainageStatus. */
const DRAINAGE_STATUS: Record<number, string> = { 1: 'draining', 2: 'drained' };
const GRPC_NOT_FOUND = 5;

export interface VersionState {
  buildId: string;
  /** current, ramping, draining (pinned workflows still open), drained, inactive (never current), created. */
  status: string;
  /** Identities of this version's workers seen polling the task queue. */
  pollers: string[];
  createdAt: string | null;
  currentSince: string | null;
}

export interface DeploymentState {
  name: string;
  /** The current version's build id; null: unversioned workers get new workflows. */
  current: string | null;
  ramping: { buildId: string | null; percent: number } | null;
  versions: VersionState[];
}

export interface TaskQueueVersions {
  taskQueue: string;
  /** The version the task queue routes new workflows to (the server's view); null: unversioned. */
  routesTo: { deploymentName: string; buildId: string } | null;
  deployments: DeploymentState[];
  /** Identities of unversioned workers polling the task queue. */
  unversionedPollers: string[];
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;
const iso = (t: Timestamp) => (t?.seconds != null ? new Date(Number(t.seconds) * 1000).toISOString() : null);

interface PollerVersion {
  identity: string;
  deploymentName: string | null;
  buildId: string | null;
}

/** Every poller of the task queue (workflow and activity tasks) with the version it polls as. */
async function pollersOf(client: Client, namespace: string, taskQueue: string): Promise<{ pollers: PollerVersion[]; routesTo: TaskQueueVersions['routesTo'] }> {
  const pollers: PollerVersion[] = [];
  let routesTo: TaskQueueVersions['routesTo'] = null;
  for (const taskQueueType of TASK_QUEUE_TYPES) {
    const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL }, taskQueueType });
    for (const p of r.pollers ?? [])
      pollers.push({ identity: p.identity ?? '', deploymentName: p.deploymentOptions?.deploymentName || null, buildId: p.deploymentOptions?.buildId || null });
    const current = r.versioningInfo?.currentDeploymentVersion;
    if (taskQueueType === 1 && current?.deploymentName && current.buildId) routesTo = { deploymentName: current.deploymentName, buildId: current.buildId };
  }
  return { pollers, routesTo };
}

/** One deployment's routing and versions, with the pollers seen on the task queue. */
export async function describeDeployment(client: Client, namespace: string, name: string, pollers: PollerVersion[] = []): Promise<DeploymentState> {
  let r;
  try {
    r = await client.workflowService.describeWorkerDeployment({ namespace, deploymentName: name });
  } catch (e) {
    // NOT_FOUND: no worker of it has polled yet; its pollers (if any, registering) still show.
    if ((e as { code?: number }).code !== GRPC_NOT_FOUND) throw e;
    r = { workerDeploymentInfo: null };
  }
  const info = r.workerDeploymentInfo;
  const routing = info?.routingConfig;
  const polling = (buildId: string) => [...new Set(pollers.filter((p) => p.deploymentName === name && p.buildId === buildId).map((p) => p.identity))].sort();
  const versions: VersionState[] = (info?.versionSummaries ?? []).map((v) => {
    const buildId = v.deploymentVersion?.buildId ?? '';
    const status = VERSION_STATUS[Number(v.status ?? 0)] ?? DRAINAGE_STATUS[Number(v.drainageStatus ?? 0)] ?? 'unknown';
    return { buildId, status, pollers: polling(buildId), createdAt: iso(v.createTime), currentSince: iso(v.currentSinceTime) };
  });
  // Versions whose workers poll but which the deployment does not list yet (registration is asynchronous).
  for (const p of pollers)
    if (p.deploymentName === name && p.buildId && !versions.some((v) => v.buildId === p.buildId))
      versions.push({ buildId: p.buildId, status: 'registering', pollers: polling(p.buildId), createdAt: null, currentSince: null });
  const ramping = routing?.rampingDeploymentVersion?.buildId || routing?.rampingVersionPercentage;
  return {
    name,
    current: routing?.currentDeploymentVersion?.buildId || null,
    ramping: ramping ? { buildId: routing?.rampingDeploymentVersion?.buildId || null, percent: routing?.rampingVersionPercentage ?? 0 } : null,
    versions: versions.sort((a, b) => (a.createdAt ?? '~').localeCompare(b.createdAt ?? '~')),
  };
}

/**
 * The versions polling the task queue, grouped by deployment (each described), plus the configured
 * deployment even when none of its workers polls now.
 */
export async function taskQueueVersions(client: Client, namespace: string, taskQueue: string, configured: string | null = null): Promise<TaskQueueVersions> {
  const { pollers, routesTo } = await pollersOf(client, namespace, taskQueue);
  const names = new Set(pollers.map((p) => p.deploymentName).filter((n): n is string => !!n));
  if (configured) names.add(configured);
  const deployments: DeploymentState[] = [];
  for (const name of [...names].sort()) deployments.push(await describeDeployment(client, namespace, name, pollers));
  const unversionedPollers = [...new Set(pollers.filter((p) => !p.deploymentName).map((p) => p.identity))].sort();
  return { taskQueue, routesTo, deployments, unversionedPollers };
}

export class DeploymentError extends Error {
  override readonly name = 'DeploymentError';
  readonly exitCode = 1;
}

/** Waits (polling every half second, at most `timeoutMs`) until `check` returns a value. */
async function waitUntil<T>(timeoutMs: number, check: () => Promise<T | null>): Promise<T | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null || Date.now() >= until) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface SetCurrentResult {
  deploymentName: string;
  buildId: string;
  previous: string | null;
  /** false: it was current already (nothing changed). */
  changed: boolean;
}

/**
 * Makes a version current: new workflows (schedule firings, replays) start on it; pinned workflows
 * stay on their version. Waits (up to `waitMs`) for a worker of the version to poll the task queue
 * — the server refuses a version nobody polls — and afterwards until the task queue routes to it.
 * `ifNone`: only when the deployment has no current version yet (a first deploy).
 */
export async function setCurrentVersion(
  client: Client,
  o: { namespace: string; taskQueue: string; deploymentName: string; buildId: string; identity?: string; waitMs?: number; ifNone?: boolean },
): Promise<SetCurrentResult> {
  const waitMs = o.waitMs ?? 60_000;
  const polled = await waitUntil(waitMs, async () => {
    const { pollers } = await pollersOf(client, o.namespace, o.taskQueue);
    return pollers.some((p) => p.deploymentName === o.deploymentName && p.buildId === o.buildId) ? true : null;
  });
  if (!polled)
    throw new DeploymentError(
      `no worker of ${o.deploymentName} build ${o.buildId} polls task queue ${o.taskQueue} (waited ${Math.round(waitMs / 1000)} s): start its workers first`,
    );
  const before = await describeDeployment(client, o.namespace, o.deploymentName);
  const base = { deploymentName: o.deploymentName, buildId: o.buildId, previous: before.current };
  if (before.current === o.buildId || (o.ifNone && before.current)) return { ...base, buildId: before.current!, changed: false };
  await client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: o.namespace,
    deploymentName: o.deploymentName,
    buildId: o.buildId,
    identity: o.identity ?? client.options.identity,
  });
  const routed = await waitUntil(waitMs, async () => {
    const { routesTo } = await pollersOf(client, o.namespace, o.taskQueue);
    return routesTo?.deploymentName === o.deploymentName && routesTo.buildId === o.buildId ? true : null;
  });
  if (!routed) throw new DeploymentError(`${o.deploymentName} build ${o.buildId} is current, but task queue ${o.taskQueue} does not route to it yet`);
  return { ...base, changed: true };
}

/** Lines for `deployment describe` and `status`. */
export function formatTaskQueueVersions(v: TaskQueueVersions): string[] {
  const out: string[] = [];
  for (const d of v.deployments) {
    const ramp = d.ramping ? `, ramping ${d.ramping.buildId ?? 'unversioned'} ${d.ramping.percent}%` : '';
    out.push(`deployment ${d.name}: current ${d.current ?? 'none (unversioned workers get new workflows)'}${ramp}`);
    for (const x of d.versions) {
      const hint = x.status === 'draining' ? ' (pinned workflows still open: keep its workers)' : x.status === 'drained' ? ' (its workers may stop)' : '';
      const polling = x.pollers.length ? `${x.pollers.length} polling (${x.pollers.join(', ')})` : 'no worker polling';
      out.push(`  ${x.buildId}  ${x.status}${hint}  ${polling}`);
    }
  }
  if (v.unversionedPollers.length) out.push(`unversioned workers: ${v.unversionedPollers.length} polling (${v.unversionedPollers.join(', ')})`);
  if (!out.length) out.push('no worker deployment (unversioned workers only)');
  return out;
}

/** `status`'s lines: nothing while no worker deployment exists (versioning is off). */
export function formatVersionsForStatus(v: TaskQueueVersions | { error: string }): string[] {
  if ('error' in v) return [`versions    cannot describe the worker deployments: ${v.error}`];
  if (!v.deployments.length) return [];
  return formatTaskQueueVersions(v).map((l, i) => `${i ? '            ' : 'versions    '}${l}`);
}
