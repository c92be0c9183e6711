package rest

import (
	"context"
	"encoding/json"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

// ListPresets serves the providers' catalogue, so the web
// app and scripts fill a new service from the same data the protocol
// clients were written against.
func (s *Server) ListPresets(_ context.Context, _ ListPresetsRequestObject) (ListPresetsResponseObject, error) {
	presets := s.providers.Presets()
	items := make([]Preset, 0, len(presets))
	for _, p := range presets {
		settings := ServiceSettings{}
		if err := json.Unmarshal(p.Settings, &settings); err != nil {
			return nil, err
		}
		out := Preset{Id: p.ID, Name: p.Name, Protocol: Protocol(p.Protocol), Settings: settings,
			Edit: make([]PresetSetting, 0, len(p.Edit)), Families: make([]PresetFamilies, 0, len(p.Families)),
			Notes: p.Notes, DocsUrl: p.DocsURL, RecordUsername: presetField(p.RecordUsername),
			RecordPassword: presetField(p.RecordPassword), Credential: presetField(p.Credential)}
		for _, e := range p.Edit {
			out.Edit = append(out.Edit, PresetSetting{Key: e.Key, Help: e.Help})
		}
		for _, f := range p.Families {
			out.Families = append(out.Families, PresetFamilies(f))
		}
		items = append(items, out)
	}
	return ListPresets200JSONResponse{Items: items}, nil
}

func presetField(f *provider.Prompt) *PresetField {
	if f == nil {
		return nil
	}
	return &PresetField{Label: f.Label, Help: f.Help}
}

// ListProtocols serves what each registered protocol needs, so the web app
// and scripts can build a service of a protocol they were not written for.
func (s *Server) ListProtocols(_ context.Context, _ ListProtocolsRequestObject) (ListProtocolsResponseObject, error) {
	descs := s.providers.Descriptions()
	items := make([]ProtocolDescription, 0, len(descs))
	for _, d := range descs {
		out := ProtocolDescription{Protocol: Protocol(d.Protocol), Title: d.Title, Summary: d.Summary, DocsUrl: d.DocsURL,
			Together: ProtocolDescriptionTogether(d.Together), Rrsets: d.RRsets, Credential: presetField(d.Credential),
			RecordUsername: presetField(d.RecordUsername), RecordPassword: presetField(d.RecordPassword),
			Settings: make([]ProtocolField, 0, len(d.Settings)), Families: make([]ProtocolDescriptionFamilies, 0, len(d.Families))}
		for _, f := range d.Settings {
			pf := ProtocolField{Key: f.Key, Type: ProtocolFieldType(f.Type), Label: f.Label, Help: f.Help, Default: f.Default,
				Required: f.Required, Destination: f.Destination, Min: f.Min, Max: f.Max}
			if len(f.Choices) > 0 {
				pf.Choices = &f.Choices
			}
			out.Settings = append(out.Settings, pf)
		}
		for _, f := range d.Families {
			out.Families = append(out.Families, ProtocolDescriptionFamilies(f))
		}
		items = append(items, out)
	}
	return ListProtocols200JSONResponse{Items: items}, nil
}
