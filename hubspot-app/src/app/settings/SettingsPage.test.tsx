import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createRenderer } from '@hubspot/ui-extensions/testing';
import { Alert, Button, Checkbox, DateInput, Input, LoadingSpinner, Select, Text, TextArea, Toggle } from '@hubspot/ui-extensions';
import type { Settings } from './settingsApi.ts';

const fetchMock = vi.fn();
vi.mock('@hubspot/ui-extensions', async (original) => {
  const mod = await original<typeof import('@hubspot/ui-extensions')>();
  return { ...mod, hubspot: { ...mod.hubspot, fetch: (...args: unknown[]) => fetchMock(...args) } };
});
const { SettingsPage } = await import('./SettingsPage.tsx');

const API = 'https://holded-hubspot.example.com';
// hubspot.fetch adds the portal and the user itself.
const SETTINGS_URL = `${API}/api/settings`;

const loaded: Settings = {
  portalId: 123,
  timeZone: 'Europe/Madrid',
  holded: { configured: true, generation: 'v2', keyLast4: 'x9Qz' },
  nextSyncDate: '2026-11-29',
  objects: { contacts: true, companies: true, products: false, documents: true },
  documentMapping: { invoice: { pipelineId: 'default', stageId: 'closedwon' } },
  sensitiveData: { enabled: false, available: false, reason: 'Solo disponible en portales HubSpot Enterprise.' },
  defaultTax: 's_iva_21',
  pipelines: [
    {
      id: 'default',
      label: 'Pipeline de ventas',
      stages: [
        { id: 'contractsent', label: 'Contrato enviado' },
        { id: 'closedwon', label: 'Cerrado ganado' },
      ],
    },
  ],
  lastRuns: [
    { id: 9, status: 'completed', trigger: 'scheduled', startedAt: '2026-11-28T00:00:03Z', finishedAt: '2026-11-28T00:01:10Z', created: 12, updated: 3, failed: 1 },
  ],
  holdedUsage: {
    period: '2026-11',
    used: 1234,
    limit: 5000,
    percent: 24,
    countedByHolded: true,
    pausedUntil: null,
    message: null,
  },
  holdedWebhook: {
    url: `${API}/webhooks/holded/6f1c0d9e2b7a4c3f8e5d1a0b9c8d7e6f6f1c0d9e2b7a4c3f8e5d1a0b9c8d7e6f`,
    secretConfigured: false,
    connected: false,
    lastDeliveryAt: null,
    refused: 0,
    lastRefusal: null,
    lastRefusedAt: null,
    holdedId: null,
    events: ['contact.update', 'invoice.approve', 'payment.create'],
    steps: [
      'En Holded, abre Configuración › Desarrolladores › Webhooks y pulsa «Nuevo webhook».',
      'Guarda el webhook y copia el secreto de firma que Holded muestra (empieza por whsec_).',
    ],
  },
  // An authorised user who is not a super admin.
  access: { canEdit: true, superAdmin: false, allowedEditors: [], message: null },
};

const READ_ONLY_MESSAGE = 'Solo pueden cambiar esta configuración los superadministradores del portal y ana@reformas.es.';

const superAdmin: Settings = {
  ...loaded,
  access: {
    canEdit: true,
    superAdmin: true,
    allowedEditors: [
      { userId: '701', email: 'ana@reformas.es' },
      { userId: '702', email: null },
    ],
    message: null,
  },
};

const reply = (status: number, body: unknown) => ({ ok: status >= 200 && status < 300, status, json: async () => body });

function renderPage(variables: Record<string, string> = { API_ORIGIN: API }) {
  const renderer = createRenderer('settings');
  renderer.mocks.context.variables = variables;
  renderer.render(<SettingsPage />);
  return renderer;
}

describe('SettingsPage', () => {
  beforeEach(() => fetchMock.mockReset());

  it('loads the settings of its own portal and shows them without the API key', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { find, findAll, maybeFind, waitFor } = renderPage();
    expect(maybeFind(LoadingSpinner)).not.toBeNull();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());

    expect(fetchMock).toHaveBeenCalledWith(SETTINGS_URL, { method: 'GET', timeout: 15000 });
    const key = find(Input, { name: 'holdedApiKey' });
    expect(key.props.value).toBe('');
    expect(key.props.type).toBe('password');
    const texts = findAll(Text).map((t) => t.text ?? '');
    expect(texts).toContain('Conectado con la API v2 de Holded · clave terminada en x9Qz');
    expect(find(DateInput).props.value).toEqual({ year: 2026, month: 10, date: 29 });
    expect(find(Checkbox, { name: 'objects.products' }).props.checked).toBe(false);
    expect(find(Checkbox, { name: 'objects.contacts' }).props.checked).toBe(true);
    expect(find(Select, { name: 'documentMapping.invoice.pipelineId' }).props.value).toBe('default');
    expect(find(Select, { name: 'documentMapping.invoice.stageId' }).props.value).toBe('closedwon');
    expect(find(Select, { name: 'documentMapping.estimate.stageId' }).props.readOnly).toBe(true);
    // Sensitive data is not possible on this portal, and the page says why.
    expect(find(Toggle).props.readOnly).toBe(true);
    expect(texts).toContain('Solo disponible en portales HubSpot Enterprise.');
    expect(texts.some((t) => t.includes('12 creados, 3 actualizados, 1 con error'))).toBe(true);
    // The month's Holded calls, with no warning below 80 %.
    expect(texts).toContain('Peticiones a la API de Holded este mes (2026-11): 1.234 de 5.000 (24 %, según Holded).');
    expect(maybeFind(Alert)).toBeNull();
  });

  it('warns at 80 % of the Holded quota and says when a spent one pauses the portal', async () => {
    const warning = 'Aviso: se ha usado el 82 % de la cuota mensual de la API de Holded (4.100 de 5.000 peticiones en 2026-11).';
    fetchMock.mockResolvedValueOnce(
      reply(200, { ...loaded, holdedUsage: { ...loaded.holdedUsage, used: 4100, percent: 82, countedByHolded: false, message: warning } }),
    );
    let page = renderPage();
    await page.waitFor(() => expect(page.maybeFind(LoadingSpinner)).toBeNull());
    expect(page.find(Alert).props.variant).toBe('warning');
    expect(page.find(Alert).text).toBe(warning);
    expect(page.findAll(Text).map((t) => t.text)).toContain('Peticiones a la API de Holded este mes (2026-11): 4.100 de 5.000 (82 %).');

    const paused =
      'Cuota mensual de la API de Holded agotada: 5.000 de 5.000 peticiones en 2026-11. La sincronización nocturna y la creación de documentos en Holded están en pausa hasta el 1 de diciembre de 2026 (00:00 UTC). Para seguir antes, amplía el plan de Holded.';
    fetchMock.mockResolvedValueOnce(
      reply(200, {
        ...loaded,
        holdedUsage: { ...loaded.holdedUsage, used: 5000, percent: 100, pausedUntil: '2026-12-01T00:00:00Z', message: paused },
      }),
    );
    page = renderPage();
    await page.waitFor(() => expect(page.maybeFind(LoadingSpinner)).toBeNull());
    expect(page.find(Alert).props.title).toBe('Holded en pausa este mes');
    expect(page.find(Alert).props.variant).toBe('danger');
    expect(page.find(Alert).text).toBe(paused);
  });

  it('edits and saves with the right body', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { find, findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());

    find(Input, { name: 'holdedApiKey' }).trigger('onChange', 'pat_new_key_1234' as never);
    find(DateInput).trigger('onChange', { year: 2025, month: 0, date: 1 } as never);
    find(Checkbox, { name: 'objects.products' }).trigger('onChange', true as never);
    find(Select, { name: 'documentMapping.estimate.pipelineId' }).trigger('onChange', 'default' as never);
    await waitFor(() => expect(find(Select, { name: 'documentMapping.estimate.stageId' }).props.readOnly).toBe(false));
    find(Select, { name: 'documentMapping.estimate.stageId' }).trigger('onChange', 'contractsent' as never);
    expect(find(Select, { name: 'defaultTax' }).props.value).toBe('s_iva_21');
    find(Select, { name: 'defaultTax' }).trigger('onChange', 's_iva_10' as never);

    const saved = { ...loaded, holded: { configured: true, generation: 'v2', keyLast4: '1234' } };
    fetchMock.mockResolvedValueOnce(reply(200, saved));
    findByTestId(Button, 'save').trigger('onClick');

    await waitFor(() => expect(find(Alert).props.title).toBe('Configuración guardada'));
    expect(fetchMock).toHaveBeenLastCalledWith(SETTINGS_URL, {
      method: 'PUT',
      timeout: 15000,
      body: {
        holdedApiKey: 'pat_new_key_1234',
        nextSyncDate: '2025-01-01',
        objects: { contacts: true, companies: true, products: true, documents: true },
        documentMapping: {
          invoice: { pipelineId: 'default', stageId: 'closedwon' },
          estimate: { pipelineId: 'default', stageId: 'contractsent' },
        },
        defaultTax: 's_iva_10',
        sensitiveData: { enabled: false, eraseExisting: false },
      },
    });
    // The typed key is cleared after a successful save; only its last four characters come back.
    expect(find(Input, { name: 'holdedApiKey' }).props.value).toBe('');
  });

  it('explains the Holded webhook, sends a typed signing secret and shows refused deliveries', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { find, findAll, findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    const texts = findAll(Text).map((t) => t.text ?? '');
    expect(texts).toContain(`Dirección del webhook: ${loaded.holdedWebhook.url}`);
    expect(texts).toContain('1. En Holded, abre Configuración › Desarrolladores › Webhooks y pulsa «Nuevo webhook».');
    expect(texts).toContain('Sin configurar: los cambios de Holded llegan con la sincronización nocturna.');
    // The run history says which runs Holded's webhooks started.
    expect(texts.some((t) => t.includes(' · Nocturna · completed · '))).toBe(true);
    const secret = find(Input, { name: 'holdedWebhookSecret' });
    expect(secret.props.type).toBe('password');
    secret.trigger('onChange', ' whsec_Zx81kq0PmA7vR2sT9uY4 ' as never);

    const saved: Settings = {
      ...loaded,
      holdedWebhook: {
        ...loaded.holdedWebhook,
        secretConfigured: true,
        connected: true,
        lastDeliveryAt: '2026-12-07T09:15:02Z',
        refused: 2,
        lastRefusal: 'la firma no corresponde al contenido con el secreto de firma guardado',
      },
      lastRuns: [{ ...loaded.lastRuns[0], id: 10, trigger: 'webhook' }],
    };
    fetchMock.mockResolvedValueOnce(reply(200, saved));
    findByTestId(Button, 'save').trigger('onClick');
    await waitFor(() => expect(findAll(Alert).some((a) => a.props.title === 'Configuración guardada')).toBe(true));
    const body = fetchMock.mock.calls[1][1].body as Record<string, unknown>;
    expect(body.holdedWebhookSecret).toBe('whsec_Zx81kq0PmA7vR2sT9uY4');
    expect(find(Input, { name: 'holdedWebhookSecret' }).props.value).toBe('');
    const after = findAll(Text).map((t) => t.text ?? '');
    expect(after).toContain('Conectado. Último envío recibido: 2026-12-07 09:15:02 UTC.');
    expect(after.some((t) => t.includes(' · Webhook de Holded · '))).toBe(true);
    const refused = findAll(Alert).find((a) => a.props.title === 'Envíos rechazados');
    expect(refused?.text).toBe(
      'Se han rechazado 2 envíos. Último motivo: la firma no corresponde al contenido con el secreto de firma guardado.',
    );
  });

  it('offers to register the webhook in Holded and shows its answer, the refusal with the guided steps', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { findAll, findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    const button = findByTestId(Button, 'register-webhook');
    expect(button.text).toBe('Registrar automáticamente en Holded');
    expect(button.props.disabled).toBe(false);

    // Holded refuses: a 200 that says so and points to the guided steps.
    const refusal =
      'Holded no ha aceptado el registro automático del webhook. Sigue los pasos guiados de abajo para crearlo en Holded › Configuración › Desarrolladores › Webhooks.';
    fetchMock.mockResolvedValueOnce(reply(200, { registered: false, message: refusal, holdedWebhook: loaded.holdedWebhook }));
    button.trigger('onClick');
    await waitFor(() => expect(findAll(Alert).some((a) => a.props.title === 'Configúralo con los pasos guiados')).toBe(true));
    expect(fetchMock).toHaveBeenLastCalledWith(`${API}/api/settings/holded-webhook/register`, { method: 'POST', timeout: 15000 });
    expect(findAll(Alert).find((a) => a.props.title === 'Configúralo con los pasos guiados')?.text).toBe(refusal);
    expect(findAll(Text).map((t) => t.text ?? '')).toContain(
      '1. En Holded, abre Configuración › Desarrolladores › Webhooks y pulsa «Nuevo webhook».',
    );

    // Holded accepts: the secret still comes from Holded's screen.
    const accepted =
      'Holded ha creado el webhook. Copia su secreto de firma (empieza por whsec_) de Holded › Configuración › Desarrolladores › Webhooks, pégalo en «Secreto de firma» aquí abajo y guarda.';
    fetchMock.mockResolvedValueOnce(
      reply(200, { registered: true, message: accepted, holdedWebhook: { ...loaded.holdedWebhook, holdedId: '5f7a1c2b3d4e5f6a7b8c9d0e' } }),
    );
    findByTestId(Button, 'register-webhook').trigger('onClick');
    await waitFor(() => expect(findAll(Alert).some((a) => a.props.title === 'Webhook registrado en Holded')).toBe(true));
    const success = findAll(Alert).find((a) => a.props.title === 'Webhook registrado en Holded');
    expect(success?.props.variant).toBe('success');
    expect(success?.text).toBe(accepted);
    expect(findAll(Alert).some((a) => a.props.title === 'Configúralo con los pasos guiados')).toBe(false);
  });

  it('does not send the key when the user left it empty', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { findByTestId, waitFor, maybeFind, find } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    findByTestId(Button, 'save').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.variant).toBe('success'));
    const body = fetchMock.mock.calls[1][1].body as Record<string, unknown>;
    expect(body).not.toHaveProperty('holdedApiKey');
    expect(body).not.toHaveProperty('holdedWebhookSecret');
  });

  it('shows the field errors of a 422, also when HubSpot wraps it', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { find, findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    find(Input, { name: 'holdedApiKey' }).trigger('onChange', 'wrong-key' as never);

    const failure = {
      error: 'validation',
      message: 'Revisa los campos marcados.',
      fields: {
        holdedApiKey: 'Holded no acepta esta clave: comprueba que la has copiado entera.',
        'documentMapping.invoice': 'La etapa elegida ya no existe en el pipeline.',
      },
    };
    // HubSpot's proxy may wrap non-2xx answers; the page reads the original body inside.
    fetchMock.mockResolvedValueOnce(
      reply(502, { status: 'error', category: 'BAD_GATEWAY', responseBody: JSON.stringify(failure) }),
    );
    findByTestId(Button, 'save').trigger('onClick');

    await waitFor(() => expect(find(Alert).props.title).toBe('No se ha guardado'));
    const key = find(Input, { name: 'holdedApiKey' });
    expect(key.props.error).toBe(true);
    expect(key.props.validationMessage).toBe('Holded no acepta esta clave: comprueba que la has copiado entera.');
    expect(find(Select, { name: 'documentMapping.invoice.pipelineId' }).props.validationMessage).toBe(
      'La etapa elegida ya no existe en el pipeline.',
    );
    // What the user typed stays, so nothing is lost.
    expect(key.props.value).toBe('wrong-key');
  });

  it('offers to erase sensitive values when turning sensitive data off', async () => {
    const enterprise = { ...loaded, sensitiveData: { enabled: true, available: true, reason: null } };
    fetchMock.mockResolvedValueOnce(reply(200, enterprise));
    const { find, maybeFind, findByTestId, waitFor } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(maybeFind(Checkbox, { name: 'eraseExisting' })).toBeNull();
    find(Toggle).trigger('onChange', false as never);
    await waitFor(() => expect(maybeFind(Checkbox, { name: 'eraseExisting' })).not.toBeNull());
    fetchMock.mockResolvedValueOnce(reply(200, { ...enterprise, sensitiveData: { enabled: false, available: true, reason: null } }));
    findByTestId(Button, 'save').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.variant).toBe('success'));
    expect((fetchMock.mock.calls[1][1].body as { sensitiveData: unknown }).sensitiveData).toEqual({
      enabled: false,
      eraseExisting: true,
    });
  });

  it('asks the backend to sync now and says so', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, loaded));
    const { find, findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    fetchMock.mockResolvedValueOnce(reply(202, { status: 'queued', message: 'Sincronización en cola: empezará en unos segundos.' }));
    findByTestId(Button, 'sync-now').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.title).toBe('Sincronización solicitada'));
    expect(fetchMock).toHaveBeenLastCalledWith(`${API}/api/sync`, { method: 'POST', timeout: 15000 });
    expect(find(Alert).text).toContain('empezará en unos segundos');
  });

  it('cannot sync before a Holded key is configured', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, { ...loaded, holded: { configured: false, generation: null, keyLast4: null } }));
    const { findByTestId, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(findByTestId(Button, 'sync-now').props.disabled).toBe(true);
  });

  it('shows a clear error when the backend cannot be reached', async () => {
    fetchMock.mockResolvedValueOnce(reply(401, { error: 'invalid_signature', message: 'Firma de HubSpot no válida.' }));
    const { find, waitFor, maybeFind } = renderPage();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(find(Text).text).toBe('Firma de HubSpot no válida.');
  });

  it('says so when the app was uploaded without API_ORIGIN, and calls nothing', () => {
    const { find, maybeFind } = renderPage({});
    expect(maybeFind(LoadingSpinner)).toBeNull();
    expect(find(Text).text).toBe('La aplicación no tiene configurada la dirección del servidor (API_ORIGIN).');
    expect(fetchMock).not.toHaveBeenCalled();
  });

  describe('access', () => {
    it('shows the settings read-only to a user who may not change them, saying who can', async () => {
      const readOnly = { ...loaded, access: { canEdit: false, superAdmin: false, allowedEditors: [], message: READ_ONLY_MESSAGE } };
      fetchMock.mockResolvedValueOnce(reply(200, readOnly));
      const { find, findAll, findByTestId, maybeFind, waitFor } = renderPage();
      await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());

      expect(find(Alert).props.title).toBe('Solo lectura');
      expect(find(Alert).text).toBe(READ_ONLY_MESSAGE);
      expect(findByTestId(Button, 'save').props.disabled).toBe(true);
      expect(findByTestId(Button, 'register-webhook').props.disabled).toBe(true);
      expect(find(Input, { name: 'holdedApiKey' }).props.readOnly).toBe(true);
      expect(find(DateInput).props.readOnly).toBe(true);
      expect(find(Toggle).props.readOnly).toBe(true);
      expect(findAll(Checkbox).every((box) => box.props.readOnly === true)).toBe(true);
      expect(findAll(Select).every((select) => select.props.readOnly === true)).toBe(true);
      // Only super admins see who is authorised.
      expect(maybeFind(TextArea)).toBeNull();
    });

    it('lets an authorised user edit, without the list of authorised users', async () => {
      fetchMock.mockResolvedValueOnce(reply(200, loaded));
      const { find, findByTestId, maybeFind, waitFor } = renderPage();
      await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
      expect(maybeFind(Alert)).toBeNull();
      expect(find(Input, { name: 'holdedApiKey' }).props.readOnly).toBe(false);
      expect(findByTestId(Button, 'save').props.disabled).toBe(false);
      expect(maybeFind(TextArea)).toBeNull();
    });

    it('shows a super admin the authorised users, by email when known, and sends them only when changed', async () => {
      fetchMock.mockResolvedValueOnce(reply(200, superAdmin));
      const { find, findByTestId, maybeFind, waitFor } = renderPage();
      await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
      const field = find(TextArea, { name: 'allowedEditors' });
      expect(field.props.label).toBe('Usuarios autorizados a cambiar la configuración');
      expect(field.props.value).toBe('ana@reformas.es\n702');

      // The same users, reordered and spaced differently: nothing to send.
      field.trigger('onChange', ' 702 , ANA@reformas.es ' as never);
      fetchMock.mockResolvedValueOnce(reply(200, superAdmin));
      findByTestId(Button, 'save').trigger('onClick');
      await waitFor(() => expect(find(Alert).props.variant).toBe('success'));
      expect(fetchMock.mock.calls[1][1].body).not.toHaveProperty('allowedEditors');

      find(TextArea, { name: 'allowedEditors' }).trigger('onChange', 'ana@reformas.es, luis@reformas.es\n702\n\nluis@reformas.es' as never);
      const saved = {
        ...superAdmin,
        access: {
          ...superAdmin.access,
          allowedEditors: [...superAdmin.access.allowedEditors, { userId: '703', email: 'luis@reformas.es' }],
        },
      };
      fetchMock.mockResolvedValueOnce(reply(200, saved));
      findByTestId(Button, 'save').trigger('onClick');
      await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(3));
      expect((fetchMock.mock.calls[2][1].body as { allowedEditors: string[] }).allowedEditors).toEqual([
        'ana@reformas.es',
        'luis@reformas.es',
        '702',
      ]);
      await waitFor(() => expect(find(TextArea).props.value).toBe('ana@reformas.es\n702\nluis@reformas.es'));
    });

    it('shows the message of a 422 that names the authorised users', async () => {
      fetchMock.mockResolvedValueOnce(reply(200, superAdmin));
      const { find, findByTestId, maybeFind, waitFor } = renderPage();
      await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
      find(TextArea).trigger('onChange', 'nadie@otra-empresa.es' as never);
      const failure = {
        error: 'validation',
        message: 'Revisa los campos marcados.',
        fields: { allowedEditors: 'nadie@otra-empresa.es no es un usuario de este portal de HubSpot.' },
      };
      fetchMock.mockResolvedValueOnce(reply(422, failure));
      findByTestId(Button, 'save').trigger('onClick');
      await waitFor(() => expect(find(Alert).props.title).toBe('No se ha guardado'));
      expect(find(TextArea).props.error).toBe(true);
      expect(find(TextArea).props.validationMessage).toBe('nadie@otra-empresa.es no es un usuario de este portal de HubSpot.');
      expect(find(TextArea).props.value).toBe('nadie@otra-empresa.es');
    });

    it('shows the message of a refused save (403, also wrapped by HubSpot) and turns read-only', async () => {
      fetchMock.mockResolvedValueOnce(reply(200, loaded));
      const { find, findAll, findByTestId, maybeFind, waitFor } = renderPage();
      await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
      const refused = { error: 'forbidden', message: READ_ONLY_MESSAGE };
      fetchMock.mockResolvedValueOnce(reply(502, { status: 'error', category: 'BAD_GATEWAY', responseBody: JSON.stringify(refused) }));
      findByTestId(Button, 'save').trigger('onClick');

      await waitFor(() => expect(findAll(Alert).map((a) => a.props.title)).toEqual(['Solo lectura', 'No se ha guardado']));
      expect(findAll(Alert).map((a) => a.text)).toEqual([READ_ONLY_MESSAGE, READ_ONLY_MESSAGE]);
      expect(findByTestId(Button, 'save').props.disabled).toBe(true);
      expect(find(Input, { name: 'holdedApiKey' }).props.readOnly).toBe(true);
    });
  });
});
