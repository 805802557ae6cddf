/**
 * design.md §7 in a browser: after a batch with one failed file, the Temporal Web UI of the test
 * dev server finds the failed file by its search attributes (ImportTenant, ImportOutcome), its page
 * shows the static summary ("Import <file> (<size> bytes) for tenant <t>"), and the batch is found
 * by ImportTenant and WorkflowType. Debian's chromium driven by playwright-core (never a download).
 * Screenshots for people: /tmp/imv-ui-*.png. The imported file's workflow page is the README's picture:
 * `IMV_UPDATE_SCREENSHOTS=1 npx vitest run test/ops/ui.test.ts` (npm run docs:screenshots) writes it to
 * docs/img/temporal-ui-file-workflow.png; without it the test writes it to /tmp like the others.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { triggerBatch } from '../../ops/batches';
import { fixturesDir, uniqueId, uploadTo, usePipeline } from '../support/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BROKEN = '<?xml version="1.0"?><openimmo><anbieter><immobilie><geo>';
const SCREENSHOTS = {
  failedList: '/tmp/imv-ui-failed-files.png',
  failedFile: '/tmp/imv-ui-failed-file.png',
  batches: '/tmp/imv-ui-batches.png',
  fileWorkflow: process.env.IMV_UPDATE_SCREENSHOTS ? path.resolve(__dirname, '../../docs/img/temporal-ui-file-workflow.png') : '/tmp/imv-ui-file-workflow.png',
};

describe.runIf(fs.existsSync(CHROMIUM))('Temporal Web UI: find and open a failed file', () => {
  const tenant = uniqueId('ui');
  const ui = inject('temporalUiUrl');
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['worker-ui'], schedules: true });
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the workflow list with a query, reloading until `text` is listed (visibility is eventually consistent). */
  async function listUntil(query: string, text: string, timeoutMs = 30_000): Promise<void> {
    const url = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      try {
        await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: 5_000 });
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
  }

  /** The UI renders markdown (summary, details) in iframes: look in every frame. */
  async function waitForTextInAnyFrame(p: Page, text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const f of p.frames()) {
        if (
          (await f
            .getByText(text)
            .count()
            .catch(() => 0)) > 0
        )
          return;
      }
      if (Date.now() > deadline) throw new Error(`"${text}" not shown in any frame of ${p.url()}`);
      await p.waitForTimeout(250);
    }
  }

  it('lists the failed file by ImportTenant and ImportOutcome, shows its summary, and finds the batch', async () => {
    const good = fs.readFileSync(path.join(fixturesDir, 'transfers', 'change-then-delete-1301.xml'));
    await uploadTo(tenant, 'good-1301.xml', good);
    await uploadTo(tenant, 'broken-upload.xml', BROKEN);
    const run = await triggerBatch(ctx.client, tenant);
    const summary = await run.result();
    expect(summary).toMatchObject({ files: 2, imported: 1, failed: 1 });
    const failedId = summary.results.find((r) => r.outcome === 'failed')!.workflowId;
    expect(failedId).toContain('broken-upload.xml');
    const expectedSummary = `Import broken-upload.xml (${Buffer.byteLength(BROKEN)} bytes) for tenant ${tenant}`;

    // The list, filtered by the custom search attributes: only the failed file.
    await listUntil(`ImportTenant="${tenant}" AND ImportOutcome="failed"`, failedId);
    expect(await page.getByText('good-1301.xml').count()).toBe(0);
    await page.screenshot({ path: SCREENSHOTS.failedList, fullPage: true });

    // Its page: failed, with the failure type, and the static summary on its start event …
    await page.getByRole('link', { name: failedId }).first().click();
    await page.getByText('MalformedXml').first().waitFor({ state: 'visible', timeout: 20_000 });
    expect(await page.getByText('Failed', { exact: true }).count()).toBeGreaterThan(0);
    await page.getByText(expectedSummary).first().waitFor({ state: 'visible', timeout: 20_000 });
    // … and in the User Metadata tab (rendered as markdown in a sandboxed frame).
    await page.getByText('User Metadata', { exact: true }).first().click();
    await page.getByText('Summary', { exact: true }).first().waitFor({ state: 'visible', timeout: 10_000 });
    await waitForTextInAnyFrame(page, expectedSummary);
    await page.screenshot({ path: SCREENSHOTS.failedFile, fullPage: true });

    // The batch, by tenant and workflow type.
    await listUntil(`ImportTenant="${tenant}" AND WorkflowType="importBatch"`, run.workflowId);
    expect(await page.getByText(failedId).count()).toBe(0);
    await page.screenshot({ path: SCREENSHOTS.batches, fullPage: true });

    // The imported file's page: completed, its summary, and its steps in the history (README's picture).
    const goodId = summary.results.find((r) => r.outcome === 'imported')!.workflowId;
    await listUntil(`ImportTenant="${tenant}" AND WorkflowType="importFile" AND ImportOutcome="imported"`, goodId);
    await page.getByRole('link', { name: goodId }).first().click();
    await page.getByText(`Import good-1301.xml (${good.length} bytes) for tenant ${tenant}`).first().waitFor({ state: 'visible', timeout: 20_000 });
    expect(await page.getByText('Completed', { exact: true }).count()).toBeGreaterThan(0);
    await page.getByText('finishImport').first().waitFor({ state: 'visible', timeout: 20_000 });
    fs.mkdirSync(path.dirname(SCREENSHOTS.fileWorkflow), { recursive: true });
    await page.screenshot({ path: SCREENSHOTS.fileWorkflow, fullPage: false });
    expect(fs.statSync(SCREENSHOTS.fileWorkflow).size).toBeGreaterThan(10_000);
  });
});
