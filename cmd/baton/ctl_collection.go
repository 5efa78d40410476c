package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	batonv1 "github.com/batonhq/baton/api/baton/v1"
	"github.com/batonhq/baton/internal/rootcoord"
	"github.com/batonhq/baton/pkg/client"
)

// collectionJSON is how ctl prints a collection.
type collectionJSON struct {
	Name        string      `json:"name"`
	ID          int64       `json:"id"`
	Description string      `json:"description,omitempty"`
	CreatedAt   string      `json:"createdAt"`
	CreateTS    uint64      `json:"createTimestamp"`
	Fields      []fieldJSON `json:"fields"`
}

type fieldJSON struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Dim        int64  `json:"dim,omitempty"`
	PrimaryKey bool   `json:"primaryKey,omitempty"`
	MaxLength  int64  `json:"maxLength,omitempty"`
}

func toJSON(c *batonv1.Collection) collectionJSON {
	phys, _ := rootcoord.ParseTS(c.GetCreateTimestamp())
	out := collectionJSON{
		Name: c.GetName(), ID: c.GetId(), Description: c.GetDescription(),
		CreatedAt: phys.UTC().Format(time.RFC3339Nano), CreateTS: c.GetCreateTimestamp(),
	}
	for _, f := range c.GetFields() {
		out.Fields = append(out.Fields, fieldJSON{
			Name: f.GetName(), Type: rootcoord.FieldTypeName(f.GetType()), Dim: f.GetDim(),
			PrimaryKey: f.GetPrimaryKey(), MaxLength: f.GetMaxLength(),
		})
	}
	return out
}

func newCollectionCmd(o *ctlOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "collection",
		Aliases: []string{"collections", "coll"},
		Short:   "Create, list, describe and drop collections",
	}
	cmd.AddCommand(newCollCreateCmd(o), newCollListCmd(o), newCollDescribeCmd(o),
		newCollDropCmd(o))
	return cmd
}

// parseField parses NAME:TYPE or NAME:TYPE:DIM.
func parseField(spec string) (*batonv1.FieldSchema, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("--field %q: write NAME:TYPE or NAME:TYPE:DIM, e.g. "+
			"title:varchar or emb:float_vector:128", spec)
	}
	t, err := rootcoord.ParseFieldType(parts[1])
	if err != nil {
		return nil, fmt.Errorf("--field %q: unknown type %q; use one of %s", spec, parts[1],
			rootcoord.FieldTypeNames())
	}
	f := &batonv1.FieldSchema{Name: parts[0], Type: t}
	if len(parts) == 3 {
		dim, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--field %q: dimension %q is not an integer", spec, parts[2])
		}
		f.Dim = dim
	}
	return f, nil
}

func newCollCreateCmd(o *ctlOpts) *cobra.Command {
	var dim int64
	var fields []string
	var desc string
	cmd := &cobra.Command{
		Use:   "create NAME --dim D [--field NAME:TYPE[:DIM] ...]",
		Short: "Create a collection with an int64 primary key id and a float vector of --dim",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &batonv1.CreateCollectionRequest{Name: args[0], Description: desc}
			req.Fields = append(req.Fields,
				&batonv1.FieldSchema{Name: "id", Type: batonv1.FieldType_FIELD_TYPE_INT64, PrimaryKey: true})
			if dim != 0 || len(fields) == 0 {
				req.Fields = append(req.Fields, &batonv1.FieldSchema{
					Name: "vector", Type: batonv1.FieldType_FIELD_TYPE_FLOAT_VECTOR, Dim: dim})
			}
			for _, spec := range fields {
				f, err := parseField(spec)
				if err != nil {
					return err
				}
				if f.GetName() == "id" || (f.GetName() == "vector" && (dim != 0 || len(fields) == 0)) {
					return fmt.Errorf("--field %q: ctl already adds a field called %q (an int64 "+
						"primary key id, and a float vector of --dim); give yours another name",
						spec, f.GetName())
				}
				req.Fields = append(req.Fields, f)
			}
			if err := rootcoord.ValidateCollection(req); err != nil {
				return err
			}
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				coll, err := rc.CreateCollection(ctx, req)
				if err != nil {
					return err
				}
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), toJSON(coll))
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "collection %q created with ID %d\n",
					coll.GetName(), coll.GetId())
				return err
			})
		},
	}
	cmd.Flags().Int64Var(&dim, "dim", 0, "dimension of the float vector field \"vector\"")
	cmd.Flags().StringArrayVar(&fields, "field", nil, "extra field NAME:TYPE[:DIM] (repeatable)")
	cmd.Flags().StringVar(&desc, "description", "", "collection description")
	return cmd
}

func newCollListCmd(o *ctlOpts) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List collections",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				colls, err := rc.ListCollections(ctx)
				if err != nil {
					return err
				}
				if o.output == "json" {
					out := make([]collectionJSON, 0, len(colls))
					for _, c := range colls {
						out = append(out, toJSON(c))
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				return printCollections(cmd.OutOrStdout(), colls)
			})
		},
	}
}

func printCollections(w io.Writer, colls []*batonv1.Collection) error {
	if len(colls) == 0 {
		_, err := fmt.Fprintln(w, "no collections")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tFIELDS\tCREATED")
	for _, c := range colls {
		j := toJSON(c)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", j.Name, j.ID, len(j.Fields), j.CreatedAt)
	}
	return tw.Flush()
}

func newCollDescribeCmd(o *ctlOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Describe a collection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rootcoord.ValidateName("collection", args[0]); err != nil {
				return err
			}
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				coll, err := rc.DescribeCollection(ctx, args[0])
				if err != nil {
					return err
				}
				j := toJSON(coll)
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), j)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "Name:        %s\nID:          %d\nDescription: %s\nCreated:     %s\n",
					j.Name, j.ID, j.Description, j.CreatedAt)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FIELD\tTYPE\tDIM\tPRIMARY KEY")
				for _, f := range j.Fields {
					dimText := "-"
					if f.Dim != 0 {
						dimText = strconv.FormatInt(f.Dim, 10)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", f.Name, f.Type, dimText, f.PrimaryKey)
				}
				return tw.Flush()
			})
		},
	}
}

func newCollDropCmd(o *ctlOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "drop NAME",
		Short: "Drop a collection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := rootcoord.ValidateName("collection", args[0]); err != nil {
				return err
			}
			return o.withRootCoord(cmd, func(ctx context.Context, rc *client.Client) error {
				if err := rc.DropCollection(ctx, args[0]); err != nil {
					return err
				}
				if o.output == "json" {
					return printJSON(cmd.OutOrStdout(), map[string]any{"dropped": args[0]})
				}
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "collection %q dropped\n", args[0])
				return err
			})
		},
	}
}
