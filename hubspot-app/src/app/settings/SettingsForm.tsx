// The settings form: the three sections, as the product defines them — the Holded connection, what goes
// from Holded to HubSpot (next sync date, objects, document type → pipeline stage, default tax), and
// sensitive data — with the last runs and "Sincronizar ahora". Users who may not change the settings see
// them read-only; super admins also choose who else may change them.
import { useState } from 'react';
import {
  Alert,
  Button,
  Checkbox,
  DateInput,
  Divider,
  Flex,
  Heading,
  Input,
  Select,
  Text,
  Toggle,
} from '@hubspot/ui-extensions';
import { BackendError, type FetchLike } from '@holded-hubspot/ui-common/backend';
import { DOCUMENT_TYPES, type DocumentType } from '@holded-hubspot/ui-common/documentTypes';
import { EditorsField, ReadOnlyNotice } from './AccessSection.tsx';
import { WebhookSection } from './WebhookSection.tsx';
import {
  DEFAULT_TAXES,
  type Settings,
  type StageRef,
  type SyncObjects,
  editorsDiffer,
  editorsText,
  fromDateParts,
  isValidationFailure,
  usageText,
  parseEditors,
  registerWebhook,
  requestSync,
  saveSettings,
  toDateParts,
  triggerLabel,
} from './settingsApi.ts';

const OBJECT_LABELS: { key: keyof SyncObjects; label: string }[] = [
  { key: 'contacts', label: 'Personas → Contactos' },
  { key: 'companies', label: 'Empresas → Empresas' },
  { key: 'products', label: 'Productos → Productos' },
  { key: 'documents', label: 'Documentos → Negocios' },
];

type Feedback = { variant: 'success' | 'danger'; title: string; body: string } | null;

interface Props {
  fetch: FetchLike;
  apiOrigin: string;
  loaded: Settings;
}

/** The form, from the loaded settings on; a save shows what the backend kept. */
export const SettingsForm = ({ fetch, apiOrigin, loaded }: Props) => {
  const [settings, setSettings] = useState(loaded);
  const [apiKey, setApiKey] = useState('');
  const [webhookSecret, setWebhookSecret] = useState('');
  const [nextSyncDate, setNextSyncDate] = useState(loaded.nextSyncDate);
  const [objects, setObjects] = useState(loaded.objects);
  const [mapping, setMapping] = useState(loaded.documentMapping);
  const [sensitive, setSensitive] = useState(loaded.sensitiveData.enabled);
  const [defaultTax, setDefaultTax] = useState(loaded.defaultTax);
  const [eraseExisting, setEraseExisting] = useState(true);
  const [editors, setEditors] = useState(editorsText(loaded.access.allowedEditors));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [registering, setRegistering] = useState(false);
  const [registration, setRegistration] = useState<{ registered: boolean; message: string } | null>(null);

  const adopt = (saved: Settings) => {
    setSettings(saved);
    setEditors(editorsText(saved.access.allowedEditors));
    setNextSyncDate(saved.nextSyncDate);
    setObjects(saved.objects);
    setMapping(saved.documentMapping);
    setSensitive(saved.sensitiveData.enabled);
    setDefaultTax(saved.defaultTax);
    setApiKey('');
    setWebhookSecret('');
  };

  const errorProps = (field: string) =>
    fieldErrors[field] ? { error: true, validationMessage: fieldErrors[field] } : {};

  const setStage = (type: DocumentType, change: Partial<StageRef>) => {
    const current = mapping[type] ?? { pipelineId: '', stageId: '' };
    const next = { ...current, ...change };
    if (change.pipelineId !== undefined && change.pipelineId !== current.pipelineId) {
      next.stageId = '';
    }
    setMapping({ ...mapping, [type]: next });
  };

  const { access } = settings;
  const readOnly = !access.canEdit;
  const typedEditors = parseEditors(editors);
  const editorsChanged = access.superAdmin && editorsDiffer(typedEditors, parseEditors(editorsText(access.allowedEditors)));

  /** A 403 on save: the user may not change the settings (any more); the page turns read-only with the backend's message. */
  const refused = (err: BackendError) => setSettings({ ...settings, access: { ...access, canEdit: false, message: err.message } });

  const save = async () => {
    setSaving(true);
    setFeedback(null);
    try {
      const result = await saveSettings(fetch, apiOrigin, {
        ...(apiKey.trim() ? { holdedApiKey: apiKey.trim() } : {}),
        ...(webhookSecret.trim() ? { holdedWebhookSecret: webhookSecret.trim() } : {}),
        nextSyncDate,
        objects,
        documentMapping: mapping,
        defaultTax,
        sensitiveData: {
          enabled: sensitive,
          eraseExisting: settings.sensitiveData.enabled && !sensitive && eraseExisting,
        },
        ...(editorsChanged ? { allowedEditors: typedEditors } : {}),
      });
      if (isValidationFailure(result)) {
        setFieldErrors(result.fields);
        setFeedback({ variant: 'danger', title: 'No se ha guardado', body: result.message });
      } else {
        adopt(result);
        setFieldErrors({});
        setFeedback({ variant: 'success', title: 'Configuración guardada', body: 'Los cambios se aplican desde ahora.' });
      }
    } catch (err) {
      if (err instanceof BackendError && err.code === 'forbidden') {
        refused(err);
      }
      setFeedback({
        variant: 'danger',
        title: 'No se ha guardado',
        body: err instanceof Error ? err.message : 'Error inesperado.',
      });
    } finally {
      setSaving(false);
    }
  };

  const registerInHolded = async () => {
    setRegistering(true);
    setRegistration(null);
    try {
      const answer = await registerWebhook(fetch, apiOrigin);
      setSettings((current) => ({ ...current, holdedWebhook: answer.holdedWebhook }));
      setRegistration({ registered: answer.registered, message: answer.message });
    } catch (err) {
      setRegistration({ registered: false, message: err instanceof Error ? err.message : 'Error inesperado.' });
    } finally {
      setRegistering(false);
    }
  };

  const syncNow = async () => {
    setFeedback(null);
    try {
      const message = await requestSync(fetch, apiOrigin);
      setFeedback({ variant: 'success', title: 'Sincronización solicitada', body: message });
    } catch (err) {
      setFeedback({
        variant: 'danger',
        title: 'No se pudo sincronizar',
        body: err instanceof Error ? err.message : 'Error inesperado.',
      });
    }
  };

  const holded = settings.holded;
  const keyStatus = holded.configured
    ? `Conectado con la API ${holded.generation ?? ''} de Holded · clave terminada en ${holded.keyLast4 ?? '····'}`
    : 'Todavía no hay ninguna clave de Holded.';
  const wasSensitive = settings.sensitiveData.enabled;
  const usage = settings.holdedUsage;

  return (
    <Flex direction="column" gap="md">
      {readOnly && <ReadOnlyNotice message={access.message} />}
      {feedback && (
        <Alert title={feedback.title} variant={feedback.variant}>
          {feedback.body}
        </Alert>
      )}

      <Heading>Conexión con Holded</Heading>
      <Text>{keyStatus}</Text>
      {usage && <Text>{usageText(usage)}</Text>}
      {usage?.message && (
        <Alert title={usage.pausedUntil ? 'Holded en pausa este mes' : 'Cuota mensual de Holded'} variant={usage.pausedUntil ? 'danger' : 'warning'}>
          {usage.message}
        </Alert>
      )}
      <Input
        name="holdedApiKey"
        label="Clave de API de Holded"
        type="password"
        value={apiKey}
        placeholder={holded.configured ? 'Déjala vacía para mantener la actual' : 'pat_… (API v2) o clave de la API v1'}
        description="Se comprueba con Holded al guardar y se guarda cifrada. Nunca se vuelve a mostrar."
        readOnly={readOnly}
        onChange={(value) => setApiKey(value)}
        {...errorProps('holdedApiKey')}
      />

      <WebhookSection
        webhook={settings.holdedWebhook}
        secret={webhookSecret}
        readOnly={readOnly}
        onChange={setWebhookSecret}
        error={fieldErrors.holdedWebhookSecret}
        onRegister={() => void registerInHolded()}
        registering={registering}
        registration={registration}
      />

      <Divider />
      <Heading>De Holded a HubSpot</Heading>
      <DateInput
        name="nextSyncDate"
        label="Próxima sincronización"
        format="YYYY-MM-DD"
        value={toDateParts(nextSyncDate)}
        description={`Se sincroniza cada noche a la 01:00 (${settings.timeZone}). Una fecha pasada trae también el historial desde esa fecha.`}
        readOnly={readOnly}
        onChange={(value) => setNextSyncDate(fromDateParts(value))}
        {...errorProps('nextSyncDate')}
      />
      <Text format={{ fontWeight: 'bold' }}>Qué se sincroniza</Text>
      {OBJECT_LABELS.map(({ key, label }) => (
        <Checkbox
          key={key}
          name={`objects.${key}`}
          checked={objects[key]}
          readOnly={readOnly}
          onChange={(checked) => setObjects({ ...objects, [key]: checked })}
        >
          {label}
        </Checkbox>
      ))}
      {fieldErrors.objects && <Text variant="microcopy">{fieldErrors.objects}</Text>}

      <Text format={{ fontWeight: 'bold' }}>Etapa de cada tipo de documento</Text>
      <Text variant="microcopy">
        Los documentos de Holded llegan como negocios en esta etapa, y un negocio que entra en ella crea el documento en Holded.
      </Text>
      {DOCUMENT_TYPES.map(({ value: type, label }) => {
        const ref = mapping[type] ?? { pipelineId: '', stageId: '' };
        const pipeline = settings.pipelines.find((p) => p.id === ref.pipelineId);
        return (
          <Flex key={type} direction="row" gap="sm">
            <Select
              name={`documentMapping.${type}.pipelineId`}
              label={`${label}: pipeline`}
              value={ref.pipelineId}
              readOnly={readOnly}
              options={[{ label: 'Sin asignar', value: '' }, ...settings.pipelines.map((p) => ({ label: p.label, value: p.id }))]}
              onChange={(value) => setStage(type, { pipelineId: String(value) })}
              {...errorProps(`documentMapping.${type}`)}
            />
            <Select
              name={`documentMapping.${type}.stageId`}
              label={`${label}: etapa`}
              value={ref.stageId}
              readOnly={readOnly || !pipeline}
              options={[{ label: 'Sin asignar', value: '' }, ...(pipeline?.stages ?? []).map((s) => ({ label: s.label, value: s.id }))]}
              onChange={(value) => setStage(type, { stageId: String(value) })}
            />
          </Flex>
        );
      })}

      <Select
        name="defaultTax"
        label="Impuesto por defecto de los documentos"
        description="Para las líneas de un negocio sin impuesto propio ni de su producto."
        value={defaultTax}
        readOnly={readOnly}
        options={[
          ...(DEFAULT_TAXES.some((t) => t.value === defaultTax) ? [] : [{ label: defaultTax, value: defaultTax }]),
          ...DEFAULT_TAXES.map((t) => ({ label: t.label, value: t.value })),
        ]}
        onChange={(value) => setDefaultTax(String(value))}
        {...errorProps('defaultTax')}
      />

      <Divider />
      <Heading>Datos sensibles</Heading>
      <Toggle
        name="sensitiveData"
        label="Sincronizar NIF/DNI, NIF-IVA, IBAN y SWIFT"
        checked={sensitive}
        readOnly={readOnly || (!settings.sensitiveData.available && !wasSensitive)}
        onChange={(checked) => setSensitive(checked)}
      />
      {!settings.sensitiveData.available && settings.sensitiveData.reason && (
        <Text variant="microcopy">{settings.sensitiveData.reason}</Text>
      )}
      {fieldErrors.sensitiveData && <Text variant="microcopy">{fieldErrors.sensitiveData}</Text>}
      {wasSensitive && !sensitive && (
        <Checkbox name="eraseExisting" checked={eraseExisting} onChange={(checked) => setEraseExisting(checked)}>
          Borrar de HubSpot los valores sensibles ya copiados
        </Checkbox>
      )}

      {access.superAdmin && (
        <EditorsField value={editors} readOnly={readOnly} onChange={setEditors} error={fieldErrors.allowedEditors} />
      )}

      <Divider />
      <Heading>Últimas sincronizaciones</Heading>
      <Button testId="sync-now" variant="secondary" disabled={!holded.configured} onClick={() => void syncNow()}>
        Sincronizar ahora
      </Button>
      {settings.lastRuns.length === 0 ? (
        <Text>Todavía no se ha ejecutado ninguna sincronización.</Text>
      ) : (
        settings.lastRuns.map((run) => (
          <Text key={run.id}>
            {`${run.startedAt.slice(0, 16).replace('T', ' ')} · ${triggerLabel(run.trigger)} · ${run.status} · ${run.created} creados, ${run.updated} actualizados, ${run.failed} con error`}
          </Text>
        ))
      )}

      <Button testId="save" variant="primary" disabled={saving || readOnly} onClick={() => void save()}>
        {saving ? 'Guardando…' : 'Guardar'}
      </Button>
    </Flex>
  );
};
