// Deal record card of Holded ⇄ HubSpot (platform 2026.03): the rep chooses the Holded document
// type and who it is for, sees the state of each document (pendiente / creado with number and link /
// error with the message), and can create it now or retry. Everything goes through our backend.
import { useEffect, useState } from 'react';
import {
  Alert,
  Button,
  Divider,
  EmptyState,
  Flex,
  Heading,
  Link,
  LoadingSpinner,
  Select,
  StatusTag,
  Text,
  hubspot,
  useExtensionActions,
  useExtensionContext,
} from '@hubspot/ui-extensions';
import type { FetchLike } from '@holded-hubspot/ui-common/backend';
import { DOCUMENT_TYPES, type DocumentType } from '@holded-hubspot/ui-common/documentTypes';
import { LOADING, type Loading, NO_API_ORIGIN, loadInto } from '@holded-hubspot/ui-common/load';
import {
  type AssociateTo,
  type DealView,
  type DocumentState,
  createDocument,
  loadDeal,
  saveChoices,
} from './dealApi.ts';

hubspot.extend<'crm.record.tab'>(() => <HoldedDealCard />);

const hubspotFetch: FetchLike = (url, options) => hubspot.fetch(url, options);

const STATES: Record<DocumentState['state'], { label: string; variant: 'default' | 'warning' | 'success' | 'danger' }> = {
  none: { label: 'Sin crear', variant: 'default' },
  pending: { label: 'Pendiente', variant: 'warning' },
  created: { label: 'Creado', variant: 'success' },
  failed: { label: 'Error', variant: 'danger' },
};

type Feedback = { variant: 'success' | 'danger'; title: string; body: string } | null;

/** "10:42" in the user's time zone. */
function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString('es-ES', { hour: '2-digit', minute: '2-digit' });
}

const DocumentRow = ({ doc }: { doc: DocumentState }) => (
  <Flex direction="column" gap="xs">
    <Flex direction="row" gap="sm" align="center">
      <Text format={{ fontWeight: 'bold' }}>{doc.label}</Text>
      <StatusTag variant={STATES[doc.state].variant}>{STATES[doc.state].label}</StatusTag>
      {doc.state === 'created' && <Text>{doc.number ?? 'Borrador (sin número hasta aprobarlo en Holded)'}</Text>}
      {doc.link && <Link href={doc.link}>Abrir en Holded</Link>}
    </Flex>
    {doc.collection && (
      <Text variant="microcopy">{`${doc.collection.statusLabel} en Holded · cobrado ${doc.collection.paid} · pendiente ${doc.collection.pending}`}</Text>
    )}
    {doc.error && <Text variant="microcopy">{doc.error}</Text>}
    {doc.state === 'pending' && doc.retryAt && (
      <Text variant="microcopy">{`Se reintentará a las ${clock(doc.retryAt)}.`}</Text>
    )}
  </Flex>
);

const LoadFailed = ({ message }: { message: string }) => (
  <EmptyState title="No se pudo cargar Holded" layout="vertical">
    <Text>{message}</Text>
  </EmptyState>
);

/** The card: its deal, from the record it sits on, and the backend from the app's profile. */
export const HoldedDealCard = () => {
  const context = useExtensionContext<'crm.record.tab'>();
  const apiOrigin = String(context.variables?.API_ORIGIN ?? '');
  const dealId = String(context.crm.objectId);
  return apiOrigin ? <DealCard apiOrigin={apiOrigin} dealId={dealId} /> : <LoadFailed message={NO_API_ORIGIN} />;
};

interface DealProps {
  apiOrigin: string;
  dealId: string;
}

/** Loads the deal's view, then shows it. */
const DealCard = ({ apiOrigin, dealId }: DealProps) => {
  const [loading, setLoading] = useState<Loading<DealView>>(LOADING);
  useEffect(
    () => loadInto(() => loadDeal(hubspotFetch, apiOrigin, dealId), setLoading, 'No se pudo cargar el negocio.'),
    [apiOrigin, dealId],
  );
  if (loading.status === 'failed') {
    return <LoadFailed message={loading.message} />;
  }
  if (loading.status === 'loading') {
    return <LoadingSpinner label="Cargando…" layout="centered" />;
  }
  return <DealEditor apiOrigin={apiOrigin} dealId={dealId} loaded={loading.value} />;
};

/** The rep's choices, the documents' states and the buttons, from the loaded view on. */
const DealEditor = ({ apiOrigin, dealId, loaded }: DealProps & { loaded: DealView }) => {
  const actions = useExtensionActions<'crm.record.tab'>();
  const [view, setView] = useState(loaded);
  const [documentType, setDocumentType] = useState<DocumentType | ''>(loaded.documentType ?? '');
  const [associateTo, setAssociateTo] = useState<AssociateTo | ''>(loaded.associateTo ?? '');
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);

  const adopt = (next: DealView) => {
    setView(next);
    setDocumentType(next.documentType ?? '');
    setAssociateTo(next.associateTo ?? '');
  };

  const run = async (action: () => Promise<DealView>, success: Omit<NonNullable<Feedback>, 'variant'>) => {
    setBusy(true);
    setFeedback(null);
    try {
      adopt(await action());
      actions.refreshObjectProperties();
      setFeedback({ variant: 'success', ...success });
    } catch (err) {
      setFeedback({
        variant: 'danger',
        title: 'No se pudo completar',
        body: err instanceof Error ? err.message : 'Error inesperado.',
      });
    } finally {
      setBusy(false);
    }
  };

  const changed = documentType !== (view.documentType ?? '') || associateTo !== (view.associateTo ?? '');
  const current = view.documents.find((d) => d.documentType === view.documentType);
  const shown = view.documents.filter((d) => d.state !== 'none' || d.documentType === view.documentType);

  return (
    <Flex direction="column" gap="md">
      {feedback && (
        <Alert title={feedback.title} variant={feedback.variant}>
          {feedback.body}
        </Alert>
      )}
      {!view.holdedConfigured && (
        <Alert title="Holded no está conectado" variant="warning">
          Un administrador debe añadir la clave de API de Holded en los ajustes de la app.
        </Alert>
      )}

      <Heading>Documento en Holded</Heading>
      <Flex direction="row" gap="sm">
        <Select
          name="documentType"
          label="Tipo de documento (Holded)"
          value={documentType}
          options={[{ label: 'Sin elegir', value: '' }, ...DOCUMENT_TYPES.map((t) => ({ label: t.label, value: t.value }))]}
          onChange={(value) => setDocumentType(String(value) as DocumentType | '')}
        />
        <Select
          name="associateTo"
          label="Asociar documento a"
          value={associateTo}
          options={[
            { label: 'Sin elegir (la empresa, si la hay)', value: '' },
            { label: 'Empresa', value: 'company' },
            { label: 'Contacto', value: 'contact' },
          ]}
          onChange={(value) => setAssociateTo(String(value) as AssociateTo | '')}
        />
      </Flex>
      <Button
        testId="save-choices"
        variant="secondary"
        disabled={!changed || busy}
        onClick={() =>
          void run(() => saveChoices(hubspotFetch, apiOrigin, dealId, { documentType, associateTo }), {
            title: 'Cambios guardados',
            body: 'El negocio usará este tipo de documento.',
          })
        }
      >
        Guardar
      </Button>
      {view.documentType && (
        <Text variant="microcopy">
          {view.triggerStage
            ? `Se crea en Holded cuando el negocio entra en «${view.triggerStage.label}».`
            : 'Este tipo de documento no tiene etapa asignada en los ajustes de la app: usa «Crear ahora».'}
        </Text>
      )}

      <Divider />
      {shown.length === 0 ? (
        <Text>Elige el tipo de documento para crearlo en Holded.</Text>
      ) : (
        shown.map((doc) => <DocumentRow key={doc.documentType} doc={doc} />)
      )}
      {current && current.state === 'none' && (
        <Button
          testId="create-now"
          variant="primary"
          disabled={busy || changed || !view.holdedConfigured}
          onClick={() =>
            void run(() => createDocument(hubspotFetch, apiOrigin, dealId), {
              title: 'Documento solicitado',
              body: `${current.label}: se está creando en Holded.`,
            })
          }
        >
          Crear ahora
        </Button>
      )}
      {current && current.state === 'failed' && (
        <Button
          testId="retry"
          variant="primary"
          disabled={busy || changed || !view.holdedConfigured}
          onClick={() =>
            void run(() => createDocument(hubspotFetch, apiOrigin, dealId), {
              title: 'Reintento solicitado',
              body: `${current.label}: se vuelve a intentar en Holded.`,
            })
          }
        >
          Reintentar
        </Button>
      )}
      {shown.some((d) => d.state === 'pending') && (
        <Button
          testId="refresh"
          variant="secondary"
          disabled={busy}
          onClick={() =>
            void run(() => loadDeal(hubspotFetch, apiOrigin, dealId), {
              title: 'Estado actualizado',
              body: 'Esto es lo que sabemos ahora de Holded.',
            })
          }
        >
          Actualizar
        </Button>
      )}
    </Flex>
  );
};
