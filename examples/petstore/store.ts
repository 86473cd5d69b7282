/** The Petstore's in-memory data: pets, orders, users. One instance per server. */
export interface Pet {
  id: number;
  name: string;
  photoUrls: string[];
  category?: { id?: number; name?: string };
  tags?: { id?: number; name?: string }[];
  status?: 'available' | 'pending' | 'sold';
}

export interface Order {
  id: number;
  petId?: number;
  quantity?: number;
  shipDate?: string;
  status?: 'placed' | 'approved' | 'delivered';
  complete?: boolean;
}

export interface User {
  id?: number;
  username: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  password?: string;
  phone?: string;
  userStatus?: number;
}

export class PetstoreData {
  readonly pets = new Map<number, Pet>();
  readonly orders = new Map<number, Order>();
  readonly users = new Map<string, User>();
  readonly notes = new Map<number, string>();
  readonly images = new Map<number, { bytes: Buffer; contentType: string }>();
  private nextId = 100;

  constructor() {
    this.addPet({
      id: 1,
      name: 'Rex',
      photoUrls: [],
      status: 'available',
      tags: [{ id: 1, name: 'dog' }],
      category: { id: 1, name: 'Dogs' },
    });
    this.addPet({
      id: 2,
      name: 'Tom',
      photoUrls: [],
      status: 'pending',
      tags: [{ id: 2, name: 'cat' }],
      category: { id: 2, name: 'Cats' },
    });
    this.addPet({ id: 3, name: 'Nemo', photoUrls: [], status: 'sold', tags: [{ id: 3, name: 'fish' }] });
  }

  newId(): number {
    return this.nextId++;
  }

  addPet(pet: Pet): Pet {
    const stored = { ...pet, id: pet.id ?? this.newId() };
    this.pets.set(stored.id, stored);
    return stored;
  }
}
