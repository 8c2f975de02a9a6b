package awshealthcheck

import (
	"context"
	"fmt"
)

// EventFilter is DescribeEvents' filter, the fields the check uses.
type EventFilter struct {
	EventStatusCodes    []string `json:"eventStatusCodes,omitempty"`
	Services            []string `json:"services,omitempty"`
	Regions             []string `json:"regions,omitempty"`
	EventTypeCategories []string `json:"eventTypeCategories,omitempty"`
	EntityValues        []string `json:"entityValues,omitempty"`
}

// Event is one Health event in summary form.
type Event struct {
	ARN               string `json:"arn"`
	Service           string `json:"service"`
	EventTypeCode     string `json:"eventTypeCode"`
	EventTypeCategory string `json:"eventTypeCategory"` // issue, scheduledChange, accountNotification, investigation
	Region            string `json:"region"`
	AvailabilityZone  string `json:"availabilityZone"`
	StartTime         epoch  `json:"startTime"`
	EndTime           epoch  `json:"endTime"`
	LastUpdatedTime   epoch  `json:"lastUpdatedTime"`
	StatusCode        string `json:"statusCode"`     // open, closed, upcoming
	EventScopeCode    string `json:"eventScopeCode"` // PUBLIC, ACCOUNT_SPECIFIC, NONE
}

// Entity is a resource an event affects.
type Entity struct {
	EntityArn       string `json:"entityArn"`
	EventArn        string `json:"eventArn"`
	EntityValue     string `json:"entityValue"` // instance id, volume id, ARN…
	StatusCode      string `json:"statusCode"`  // IMPAIRED, UNIMPAIRED, UNKNOWN, PENDING, RESOLVED
	AWSAccountID    string `json:"awsAccountId"`
	LastUpdatedTime epoch  `json:"lastUpdatedTime"`
}

// maxPages bounds a listing (100 items a page): an answer that keeps
// handing out tokens does not keep the check busy forever.
const maxPages = 20

// DescribeEvents lists the events matching f, every page.
func (c *Client) DescribeEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	type input struct {
		Filter     EventFilter `json:"filter"`
		MaxResults int         `json:"maxResults"`
		NextToken  string      `json:"nextToken,omitempty"`
		Locale     string      `json:"locale"`
	}
	var out []Event
	in := input{Filter: f, MaxResults: 100, Locale: "en"}
	for page := 0; page < maxPages; page++ {
		var res struct {
			Events    []Event `json:"events"`
			NextToken string  `json:"nextToken"`
		}
		if err := c.call(ctx, "DescribeEvents", in, &res); err != nil {
			return nil, err
		}
		out = append(out, res.Events...)
		if res.NextToken == "" || res.NextToken == in.NextToken {
			return out, nil
		}
		in.NextToken = res.NextToken
	}
	return out, fmt.Errorf("DescribeEvents: more than %d pages of events; narrow the check with services, regions or categories", maxPages)
}

// DescribeAffectedEntities lists the resources the events affect (10
// events a call, as the API takes them), every page.
func (c *Client) DescribeAffectedEntities(ctx context.Context, eventARNs []string) ([]Entity, error) {
	type filter struct {
		EventArns []string `json:"eventArns"`
	}
	type input struct {
		Filter     filter `json:"filter"`
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken,omitempty"`
		Locale     string `json:"locale"`
	}
	var out []Entity
	for len(eventARNs) > 0 {
		n := min(10, len(eventARNs))
		in := input{Filter: filter{EventArns: eventARNs[:n]}, MaxResults: 100, Locale: "en"}
		eventARNs = eventARNs[n:]
		for page := 0; ; page++ {
			if page == maxPages {
				return out, fmt.Errorf("DescribeAffectedEntities: more than %d pages of resources", maxPages)
			}
			var res struct {
				Entities  []Entity `json:"entities"`
				NextToken string   `json:"nextToken"`
			}
			if err := c.call(ctx, "DescribeAffectedEntities", in, &res); err != nil {
				return nil, err
			}
			out = append(out, res.Entities...)
			if res.NextToken == "" || res.NextToken == in.NextToken {
				break
			}
			in.NextToken = res.NextToken
		}
	}
	return out, nil
}
