import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createRenderer } from '@hubspot/ui-extensions/testing';
import { Alert, Button, Link, LoadingSpinner, Select, StatusTag, Text } from '@hubspot/ui-extensions';
import type { DealView, DocumentState } from './dealApi.ts';

const fetchMock = vi.fn();
vi.mock('@hubspot/ui-extensions', async (original) => {
  const mod = await original<typeof import('@hubspot/ui-extensions')>();
  return { ...mod, hubspot: { ...mod.hubspot, fetch: (...args: unknown[]) => fetchMock(...args) } };
});
const { HoldedDealCard } = await import('./HoldedDealCard.tsx');

const API = 'https://holded-hubspot.example.com';
// The fake context of a CRM location: record 123. hubspot.fetch adds the portal and the user itself.
const DEAL_URL = `${API}/api/deals/123`;

const none = (documentType: DocumentState['documentType'], label: string): DocumentState => ({
  documentType,
  label,
  state: 'none',
  number: null,
  link: null,
  error: null,
  retryAt: null,
  updatedAt: null,
  collection: null,
});

const documents: DocumentState[] = [
  none('estimate', 'Presupuesto'),
  none('proform', 'Proforma'),
  none('waybill', 'Albarán'),
  none('invoice', 'Factura'),
  none('salesorder', 'Pedido'),
];

const fresh: DealView = {
  dealId: '123',
  dealName: 'Reforma oficina',
  documentType: 'invoice',
  associateTo: 'company',
  holdedConfigured: true,
  triggerStage: { pipelineId: 'default', stageId: 'closedwon', label: 'Pipeline de ventas › Cerrado ganado' },
  inTriggerStage: false,
  documents,
};

const withInvoice = (invoice: Partial<DocumentState>): DealView => ({
  ...fresh,
  documents: documents.map((d) => (d.documentType === 'invoice' ? { ...d, ...invoice } : d)),
});

const reply = (status: number, body: unknown) => ({ ok: status >= 200 && status < 300, status, json: async () => body });

function renderCard(variables: Record<string, string> = { API_ORIGIN: API }) {
  const renderer = createRenderer('crm.record.tab');
  renderer.mocks.context.variables = variables;
  renderer.render(<HoldedDealCard />);
  return renderer;
}

describe('HoldedDealCard', () => {
  beforeEach(() => fetchMock.mockReset());

  it('loads its own deal and shows the choices, the trigger stage and the chosen type', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, fresh));
    const { find, findAll, maybeFind, maybeFindByTestId, waitFor } = renderCard();
    expect(maybeFind(LoadingSpinner)).not.toBeNull();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());

    expect(fetchMock).toHaveBeenCalledWith(DEAL_URL, { method: 'GET', timeout: 15000 });
    expect(find(Select, { name: 'documentType' }).props.value).toBe('invoice');
    expect(find(Select, { name: 'associateTo' }).props.value).toBe('company');
    const texts = findAll(Text).map((t) => t.text ?? '');
    expect(texts).toContain('Se crea en Holded cuando el negocio entra en «Pipeline de ventas › Cerrado ganado».');
    // Only the chosen type is listed while nothing exists yet.
    expect(findAll(StatusTag).map((t) => t.text)).toEqual(['Sin crear']);
    expect(maybeFindByTestId(Button, 'create-now')).not.toBeNull();
    expect(maybeFindByTestId(Button, 'retry')).toBeNull();
  });

  it('saves the choices through the backend and refreshes the record', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, fresh));
    const { find, findByTestId, maybeFind, waitFor, mocks } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(findByTestId(Button, 'save-choices').props.disabled).toBe(true);

    find(Select, { name: 'documentType' }).trigger('onChange', 'estimate' as never);
    find(Select, { name: 'associateTo' }).trigger('onChange', 'contact' as never);
    // A document is not asked for with unsaved choices.
    await waitFor(() => expect(findByTestId(Button, 'save-choices').props.disabled).toBe(false));
    const saved = { ...fresh, documentType: 'estimate' as const, associateTo: 'contact' as const, triggerStage: null };
    fetchMock.mockResolvedValueOnce(reply(200, saved));
    findByTestId(Button, 'save-choices').trigger('onClick');

    await waitFor(() => expect(find(Alert).props.title).toBe('Cambios guardados'));
    expect(fetchMock).toHaveBeenLastCalledWith(DEAL_URL, {
      method: 'PUT',
      timeout: 15000,
      body: { documentType: 'estimate', associateTo: 'contact' },
    });
    expect(mocks.actions.refreshObjectProperties.callCount).toBe(1);
    expect(find(Text, (t) => (t.text ?? '').includes('no tiene etapa asignada')).text).toBe(
      'Este tipo de documento no tiene etapa asignada en los ajustes de la app: usa «Crear ahora».',
    );
  });

  it('creates now and shows the request pending, then created with its number and link', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, fresh));
    const { find, findAll, findByTestId, maybeFind, maybeFindByTestId, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());

    fetchMock.mockResolvedValueOnce(reply(202, withInvoice({ state: 'pending' })));
    findByTestId(Button, 'create-now').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.title).toBe('Documento solicitado'));
    expect(fetchMock).toHaveBeenLastCalledWith(`${API}/api/deals/123/documents`, {
      method: 'POST',
      timeout: 15000,
      body: {},
    });
    expect(find(StatusTag).text).toBe('Pendiente');
    expect(maybeFindByTestId(Button, 'create-now')).toBeNull();

    const link = 'https://app.holded.com/sales/revenue/invoice/6a01';
    fetchMock.mockResolvedValueOnce(reply(200, withInvoice({ state: 'created', number: 'F260012', link })));
    findByTestId(Button, 'refresh').trigger('onClick');
    await waitFor(() => expect(find(StatusTag).text).toBe('Creado'));
    expect(find(StatusTag).props.variant).toBe('success');
    expect(findAll(Text).map((t) => t.text)).toContain('F260012');
    expect(find(Link).props.href).toBe(link);
    expect(maybeFindByTestId(Button, 'refresh')).toBeNull();
  });

  it('shows a created invoice approved and half paid in Holded', async () => {
    const collection = { status: 'cobrada_parcialmente', statusLabel: 'Cobrada parcialmente', paid: '605,00 €', pending: '605,00 €' };
    const link = 'https://app.holded.com/sales/revenue/invoice/6a01';
    fetchMock.mockResolvedValueOnce(reply(200, withInvoice({ state: 'created', number: 'F260012', link, collection })));
    const { findAll, maybeFind, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    const texts = findAll(Text).map((t) => t.text);
    expect(texts).toContain('F260012');
    expect(texts).toContain('Cobrada parcialmente en Holded · cobrado 605,00 € · pendiente 605,00 €');
  });

  it('shows the error and retries', async () => {
    const error = 'Holded: Holded rechazó los datos: items[0].taxes: tax not found: s_iva_7.';
    fetchMock.mockResolvedValueOnce(reply(200, withInvoice({ state: 'failed', error })));
    const { find, findAll, findByTestId, maybeFind, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(find(StatusTag).props.variant).toBe('danger');
    expect(findAll(Text).map((t) => t.text)).toContain(error);

    fetchMock.mockResolvedValueOnce(reply(202, withInvoice({ state: 'pending', error })));
    findByTestId(Button, 'retry').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.title).toBe('Reintento solicitado'));
    expect(find(StatusTag).text).toBe('Pendiente');
  });

  it('says when the document already exists, as the backend answers (also wrapped by HubSpot)', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, fresh));
    const { find, findByTestId, maybeFind, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    const refused = { error: 'already_created', message: 'Este negocio ya tiene una factura en Holded: F260012.' };
    fetchMock.mockResolvedValueOnce(
      reply(502, { status: 'error', category: 'BAD_GATEWAY', responseBody: JSON.stringify(refused) }),
    );
    findByTestId(Button, 'create-now').trigger('onClick');
    await waitFor(() => expect(find(Alert).props.variant).toBe('danger'));
    expect(find(Alert).text).toContain('Este negocio ya tiene una factura en Holded: F260012.');
  });

  it('warns when Holded is not connected and cannot create', async () => {
    fetchMock.mockResolvedValueOnce(reply(200, { ...fresh, holdedConfigured: false }));
    const { find, findByTestId, maybeFind, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(find(Alert).props.title).toBe('Holded no está conectado');
    expect(findByTestId(Button, 'create-now').props.disabled).toBe(true);
  });

  it('shows a clear error when the backend refuses the request', async () => {
    fetchMock.mockResolvedValueOnce(reply(404, { error: 'deal_not_found', message: 'El negocio 123 no existe en este portal de HubSpot.' }));
    const { find, maybeFind, waitFor } = renderCard();
    await waitFor(() => expect(maybeFind(LoadingSpinner)).toBeNull());
    expect(find(Text).text).toBe('El negocio 123 no existe en este portal de HubSpot.');
  });

  it('says so when the app was uploaded without API_ORIGIN, and calls nothing', async () => {
    const { find, maybeFind } = renderCard({});
    expect(maybeFind(LoadingSpinner)).toBeNull();
    expect(find(Text).text).toBe('La aplicación no tiene configurada la dirección del servidor (API_ORIGIN).');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
